"""Writes for the course: syncing content from `exercises/` and `graders/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from taller.courses.bundles import content_files, zip_files
from taller.courses.content import ContentError, ExerciseContent, exercise_content, load_course
from taller.courses.models import Course, Exercise, GraderVersion, Section
from taller_grader.manifest import Manifest


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} new versions, "
            f"{len(self.unchanged)} unchanged"
        )


def _version_fields(content: ExerciseContent) -> dict[str, object]:
    return {
        "manifest": content.manifest.model_dump(mode="json"),
        "statement_es": content.statement_es,
        "statement_en": content.statement_en,
        "starter_files": content.starter,
        "solution_files": content.solution,
        "alternative_files": content.alternatives,
        "wrong_files": content.wrong,
        "suite_files": content.suite,
    }


def sync_course(exercises_dir: Path, graders_dir: Path) -> SyncReport:
    """Bring the database in line with the content on disk. Idempotent.

    Everything is read and validated before anything is written, and the writes happen
    in one transaction: a bad manifest leaves the course exactly as it was.
    """
    content = load_course(exercises_dir, graders_dir)
    report = SyncReport()
    with transaction.atomic():
        course, _ = Course.objects.update_or_create(
            slug=content.course.slug,
            defaults={"title_es": content.course.title.es, "title_en": content.course.title.en},
        )
        sections = {}
        for spec in content.course.sections:
            section, _ = Section.objects.update_or_create(
                course=course,
                number=spec.number,
                defaults={
                    "slug": spec.slug,
                    "title_es": spec.title.es,
                    "title_en": spec.title.en,
                },
            )
            sections[spec.number] = section
        for item in content.exercises:
            manifest = item.manifest
            exercise, created = Exercise.objects.select_for_update().update_or_create(
                slug=manifest.slug,
                defaults={
                    "section": sections[manifest.section],
                    "order": manifest.order,
                    "title_es": manifest.title.es,
                    "title_en": manifest.title.en,
                },
            )
            version = GraderVersion.objects.filter(
                exercise=exercise, content_hash=item.content_hash
            ).first()
            if version is None:
                last = exercise.versions.order_by("-number").first()
                version = GraderVersion.objects.create(
                    exercise=exercise,
                    number=(last.number + 1) if last else 1,
                    content_hash=item.content_hash,
                    source="sync",
                    **_version_fields(item),
                )
            if exercise.current_version_id == version.pk:
                report.unchanged.append(manifest.slug)
                continue
            exercise.current_version = version
            exercise.save(update_fields=["current_version"])
            (report.created if created else report.updated).append(manifest.slug)
    return report


class VersionError(ValueError):
    """A grader version that cannot take this step; the message says why."""


@transaction.atomic
def grader_version_upload(
    *,
    content: ExerciseContent,
    user: Any,
    section: Section | None = None,
    source: str = "upload",
) -> GraderVersion:
    """Store an instructor's bundle as a draft version; nothing is graded with it yet.

    A new slug makes a new, unpublished exercise in the manifest's section.
    """
    manifest = content.manifest
    exercise = Exercise.objects.select_for_update().filter(slug=manifest.slug).first()
    if exercise is None:
        section = section or Section.objects.filter(number=manifest.section).order_by("pk").first()
        if section is None:
            known = ", ".join(
                str(n) for n in Section.objects.order_by("number").values_list("number", flat=True)
            )
            raise VersionError(
                _(
                    "el curso no tiene la sección %(n)s (manifest.toml, «section»); las "
                    "secciones son: %(known)s"
                )
                % {"n": manifest.section, "known": known or "—"}
            )
        exercise = Exercise.objects.create(
            slug=manifest.slug,
            section=section,
            order=manifest.order,
            title_es=manifest.title.es,
            title_en=manifest.title.en,
            is_published=False,
        )
    existing = exercise.versions.filter(content_hash=content.content_hash).first()
    if existing is not None:
        raise VersionError(
            _(
                "este contenido ya es la versión %(n)s de %(slug)s (%(state)s): no hay nada "
                "nuevo que validar. Para volver a ella, publícala desde su página."
            )
            % {"n": existing.number, "slug": exercise.slug, "state": existing.get_state_display()}
        )
    last = exercise.versions.order_by("-number").first()
    return GraderVersion.objects.create(
        exercise=exercise,
        number=(last.number + 1) if last else 1,
        content_hash=content.content_hash,
        state=GraderVersion.State.DRAFT,
        source=source,
        created_by=user,
        **_version_fields(content),
    )


@transaction.atomic
def grader_version_publish(version_id: int) -> GraderVersion:
    """Make a validated version the one that grades new submissions.

    An earlier published version may be published again: that is a rollback, and it
    grades new submissions from then on exactly as it did before.
    """
    version = (
        GraderVersion.objects.select_for_update().select_related("exercise").get(pk=version_id)
    )
    if version.state not in (GraderVersion.State.VALID, GraderVersion.State.PUBLISHED):
        raise VersionError(
            _(
                "la versión %(n)s está %(state)s: solo se puede publicar una versión cuya "
                "validación pasó"
            )
            % {"n": version.number, "state": version.get_state_display()}
        )
    exercise = Exercise.objects.select_for_update().get(pk=version.exercise_id)
    version.state = GraderVersion.State.PUBLISHED
    version.save(update_fields=["state"])
    exercise.current_version = version
    exercise.title_es = version.manifest["title"]["es"]
    exercise.title_en = version.manifest["title"]["en"]
    exercise.is_published = True
    exercise.save(update_fields=["current_version", "title_es", "title_en", "is_published"])
    return version


def version_files(version: GraderVersion) -> dict[str, str]:
    """A version as the files of its bundle, by path (the diff and the download read it)."""
    return content_files(
        version.exercise.slug,
        manifest=version.manifest,
        statement_es=version.statement_es,
        statement_en=version.statement_en,
        starter=version.starter_files,
        solution=version.solution_files,
        alternatives=version.alternative_files,
        wrong=version.wrong_files,
        suite=version.suite_files,
    )


def version_bundle(version: GraderVersion) -> bytes:
    """A version as a bundle zip: uploaded again, it is the same content (same hash)."""
    return zip_files(version_files(version))


def version_content_edited(
    version: GraderVersion,
    *,
    statement_es: str,
    statement_en: str,
    starter: dict[str, str],
    suite: dict[str, str],
    manifest: Manifest | None = None,
    solution: dict[str, str] | None = None,
    alternatives: dict[str, dict[str, str]] | None = None,
    wrong: dict[str, dict[str, str]] | None = None,
) -> ExerciseContent:
    """A version's content with the parts edited on the site replaced.

    A part not given is the version's own, so the result is checked and fingerprinted
    exactly as a bundle with those files would be. Raises ContentError.
    """
    slug = version.exercise.slug
    exercise_dir = Path("exercises") / slug
    if manifest is not None and manifest.slug != slug:
        raise ContentError(
            _(
                "%(p)s: «slug» es «%(s)s»; el editor no cambia el slug de un ejercicio "
                "(debe seguir siendo «%(slug)s»)"
            )
            % {"p": exercise_dir / "manifest.toml", "s": manifest.slug, "slug": slug}
        )
    return exercise_content(
        manifest if manifest is not None else Manifest.model_validate(version.manifest),
        exercise_dir=exercise_dir,
        graders_dir=Path("graders"),
        statement_es=statement_es,
        statement_en=statement_en,
        starter=starter,
        solution=solution if solution is not None else dict(version.solution_files),
        alternatives=alternatives
        if alternatives is not None
        else {k: dict(v) for k, v in version.alternative_files.items()},
        wrong=wrong if wrong is not None else {k: dict(v) for k, v in version.wrong_files.items()},
        suite=suite,
    )
