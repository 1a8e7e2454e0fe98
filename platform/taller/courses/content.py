"""Course content as code: reading and validating `exercises/` and `graders/`.

Layout (one folder per exercise):

    exercises/course.toml               the course and its sections
    exercises/<slug>/manifest.toml      slug, section, titles, how to run it
    exercises/<slug>/statement.es.md    statement, Spanish (the course language)
    exercises/<slug>/statement.en.md    statement, English
    exercises/<slug>/starter/           what the editor starts with
    exercises/<slug>/solution/          the reference solution (full marks)
    exercises/<slug>/alternatives/<n>/  other correct solutions (full marks)
    exercises/<slug>/wrong/<name>/      known-wrong solutions (must lose points)
    graders/<slug>/                     the pytest grader suite

Nothing here touches the database; `services.sync_course` writes what this reads.
Errors name the file and the field, so an instructor can fix a manifest unaided.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=50)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


# The characters a file name in an exercise may use (manifests, bundles, the site's editor).
PATH_CHARS = r"^[\w./-]+$"


def is_relative_path(value: str) -> bool:
    """Relative, written the canonical way, and never climbing out (`..`)."""
    path = PurePosixPath(value)
    return not (path.is_absolute() or ".." in path.parts or value != path.as_posix())


def _relative_path(value: str) -> str:
    if not is_relative_path(value):
        raise ValueError(f"'{value}' must be a relative path inside the submission")
    return value


RelPath = Annotated[
    str, StringConstraints(pattern=PATH_CHARS, max_length=200), AfterValidator(_relative_path)
]

# Files never taken into a version: editor and OS litter, caches.
_IGNORED_PARTS = {"__pycache__", ".pytest_cache", "node_modules", ".DS_Store", ".next"}
MAX_CONTENT_FILE_BYTES = 512 * 1024


class ContentError(ValueError):
    """Course content that cannot be loaded; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Titles(_Strict):
    es: Text
    en: Text


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]


class ProgramSpec(_Strict):
    name: Slug
    command: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1
    )
    # No port: a script, run on demand (TOML cannot say None, so it is left out).
    port: int | None = Field(default=None, ge=1024, le=65535)
    autostart: bool = True
    cwd: RelPath = "."
    env: dict[EnvName, str] = Field(default_factory=dict)


class RunSpec(_Strict):
    entry: list[RelPath] = Field(min_length=1)
    time_limit_seconds: float = Field(default=30, gt=0, le=600)
    startup_seconds: float = Field(default=10, gt=0, le=300)
    memory_limit_mb: int = Field(default=256, ge=32, le=4096)
    # Threads count too: a Node process has about 7; builds (ssr) need far more.
    pids: int = Field(default=128, ge=16, le=4096)
    disk_mb: int = Field(default=64, ge=8, le=4096)  # the writable submission folder
    services: list[Literal["postgres", "mongo", "rabbitmq", "kafka"]] = Field(default_factory=list)
    queue: Literal["grading", "heavy"] = "grading"
    env: dict[EnvName, str] = Field(default_factory=dict)
    secrets: list[EnvName] = Field(default_factory=list)
    programs: list[ProgramSpec] = Field(default_factory=list)


class Manifest(_Strict):
    slug: Slug
    section: int = Field(ge=1, le=99)
    order: int = Field(default=1, ge=1, le=99)
    title: Titles
    run: RunSpec


class SectionSpec(_Strict):
    number: int = Field(ge=1, le=99)
    slug: Slug
    title: Titles


class CourseSpec(_Strict):
    slug: Slug
    title: Titles
    sections: list[SectionSpec] = Field(min_length=1)


@dataclass(frozen=True)
class ExerciseContent:
    manifest: Manifest
    statement_es: str
    statement_en: str
    starter: dict[str, str]
    solution: dict[str, str]
    alternatives: dict[str, dict[str, str]]
    wrong: dict[str, dict[str, str]]
    suite: dict[str, str]
    content_hash: str


@dataclass(frozen=True)
class CourseContent:
    course: CourseSpec
    exercises: tuple[ExerciseContent, ...]


def _describe(error: ValidationError, path: Path) -> ContentError:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{path}: field '{field}': {item['msg']}")
    return ContentError("; ".join(parts))


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(f"{path}: file is missing") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ContentError(f"{path}: not valid TOML: {exc}") from None


def _read_tree(root: Path) -> dict[str, str]:
    """Every text file under root, by relative POSIX path; links are refused."""
    files: dict[str, str] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _IGNORED_PARTS for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise ContentError(f"{path}: links are not allowed in exercise content")
        if path.is_dir():
            continue
        if path.stat().st_size > MAX_CONTENT_FILE_BYTES:
            raise ContentError(f"{path}: larger than {MAX_CONTENT_FILE_BYTES} bytes")
        try:
            files[rel.as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ContentError(f"{path}: not UTF-8 text") from None
    return files


def _read_variants(root: Path) -> dict[str, dict[str, str]]:
    if not root.is_dir():
        return {}
    return {d.name: _read_tree(d) for d in sorted(root.iterdir()) if d.is_dir()}


def content_hash(*trees: dict[str, str] | dict[str, dict[str, str]] | str) -> str:
    digest = hashlib.sha256()
    for tree in trees:
        digest.update(repr(tree if isinstance(tree, str) else sorted(tree.items())).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _ordered(files: dict[str, str]) -> dict[str, str]:
    """Files in the order _read_tree finds them on disk (sorted by path components)."""
    return dict(sorted(files.items(), key=lambda item: PurePosixPath(item[0]).parts))


def load_exercise(exercise_dir: Path, graders_dir: Path) -> ExerciseContent:
    manifest_path = exercise_dir / "manifest.toml"
    try:
        manifest = Manifest.model_validate(_read_toml(manifest_path))
    except ValidationError as exc:
        raise _describe(exc, manifest_path) from None
    if manifest.slug != exercise_dir.name:
        raise ContentError(
            f"{manifest_path}: field 'slug': '{manifest.slug}' differs from its folder "
            f"'{exercise_dir.name}'"
        )
    statements = {}
    for lang in ("es", "en"):
        path = exercise_dir / f"statement.{lang}.md"
        if not path.is_file():
            raise ContentError(f"{path}: file is missing")
        statements[lang] = path.read_text(encoding="utf-8")
    return exercise_content(
        manifest,
        exercise_dir=exercise_dir,
        graders_dir=graders_dir,
        statement_es=statements["es"],
        statement_en=statements["en"],
        starter=_read_tree(exercise_dir / "starter"),
        solution=_read_tree(exercise_dir / "solution"),
        alternatives=_read_variants(exercise_dir / "alternatives"),
        wrong=_read_variants(exercise_dir / "wrong"),
        suite=_read_tree(graders_dir / manifest.slug),
    )


def exercise_content(
    manifest: Manifest,
    *,
    exercise_dir: Path,
    graders_dir: Path,
    statement_es: str,
    statement_en: str,
    starter: dict[str, str],
    solution: dict[str, str],
    alternatives: dict[str, dict[str, str]],
    wrong: dict[str, dict[str, str]],
    suite: dict[str, str],
) -> ExerciseContent:
    """Check an exercise's parts fit together and fingerprint them.

    Shared by the course on disk, bundles and the on-site editor, so a version is
    accepted (and hashed) the same way whichever way it arrives. The directories only
    name files in error messages.
    """
    manifest_path = exercise_dir / "manifest.toml"
    # The hash reads dicts in order, and a tree read back from the database (jsonb)
    # comes in another order than from disk: put every tree in the disk's order.
    starter, solution, suite = _ordered(starter), _ordered(solution), _ordered(suite)
    alternatives = {k: _ordered(v) for k, v in sorted(alternatives.items())}
    wrong = {k: _ordered(v) for k, v in sorted(wrong.items())}
    if not solution:
        raise ContentError(f"{exercise_dir / 'solution'}: a reference solution is required")
    for entry in manifest.run.entry:
        if entry not in solution:
            raise ContentError(f"{manifest_path}: field 'run.entry': '{entry}' is not in solution/")
    if not any(Path(p).name.startswith("test_") and p.endswith(".py") for p in suite):
        raise ContentError(f"{graders_dir / manifest.slug}: no test_*.py grader suite")
    return ExerciseContent(
        manifest=manifest,
        statement_es=statement_es,
        statement_en=statement_en,
        starter=starter,
        solution=solution,
        alternatives=alternatives,
        wrong=wrong,
        suite=suite,
        content_hash=content_hash(
            manifest.model_dump_json(),
            statement_es,
            statement_en,
            starter,
            solution,
            alternatives,
            wrong,
            suite,
        ),
    )


def load_course(exercises_dir: Path, graders_dir: Path) -> CourseContent:
    course_path = exercises_dir / "course.toml"
    try:
        course = CourseSpec.model_validate(_read_toml(course_path))
    except ValidationError as exc:
        raise _describe(exc, course_path) from None
    numbers = {s.number for s in course.sections}
    exercises = []
    for exercise_dir in sorted(p for p in exercises_dir.iterdir() if p.is_dir()):
        if exercise_dir.name.startswith((".", "_")):
            continue
        content = load_exercise(exercise_dir, graders_dir)
        if content.manifest.section not in numbers:
            raise ContentError(
                f"{exercise_dir / 'manifest.toml'}: field 'section': "
                f"{content.manifest.section} is not a section of {course_path}"
            )
        exercises.append(content)
    return CourseContent(course=course, exercises=tuple(exercises))
