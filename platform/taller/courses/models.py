from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from taller_grader.manifest import RunSpec


def _pick(obj: Any, field: str) -> str:
    """The field in the active language, falling back to Spanish (the course language)."""
    lang = (get_language() or "es")[:2]
    value = getattr(obj, f"{field}_{lang}", "") if lang in ("es", "en") else ""
    return value or getattr(obj, f"{field}_es")


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title_es = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("curso")
        verbose_name_plural = _("cursos")

    def __str__(self) -> str:
        return self.title_es

    @property
    def title(self) -> str:
        return _pick(self, "title")


class Section(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sections")
    number = models.PositiveSmallIntegerField()
    slug = models.SlugField()
    title_es = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="section_number_unique"),
            models.UniqueConstraint(fields=["course", "slug"], name="section_slug_unique"),
        ]
        verbose_name = _("sección")
        verbose_name_plural = _("secciones")

    def __str__(self) -> str:
        return f"{self.number}. {self.title_es}"

    @property
    def title(self) -> str:
        return _pick(self, "title")


class Exercise(models.Model):
    """One exercise; its content and grader live in versions (see GraderVersion)."""

    slug = models.SlugField(unique=True)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="exercises")
    order = models.PositiveSmallIntegerField(default=1)
    title_es = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    current_version = models.ForeignKey(
        "GraderVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("La versión que califica los envíos nuevos."),
    )
    is_published = models.BooleanField(default=True)

    class Meta:
        ordering = ["section__number", "order", "slug"]
        verbose_name = _("ejercicio")
        verbose_name_plural = _("ejercicios")

    def __str__(self) -> str:
        return self.slug

    @property
    def title(self) -> str:
        return _pick(self, "title")


class GraderVersion(models.Model):
    """A frozen copy of an exercise's content and grader suite, identified by its hash.

    Submissions record the version that graded them, so a later change to the grader
    never silently rewrites a result.
    """

    class State(models.TextChoices):
        # Uploaded → validating → valid (may be published) or invalid (never published).
        DRAFT = "draft", _("borrador")
        VALIDATING = "validating", _("validando")
        VALID = "valid", _("válida")
        INVALID = "invalid", _("inválida")
        PUBLISHED = "published", _("publicada")

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PUBLISHED)
    source = models.CharField(max_length=16, default="sync")  # "sync" | "upload" | "edit"
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # The manifest as validated (limits, entry files, services), for the runner; read it
    # through `run_spec`, the model that fills in the defaults.
    manifest = models.JSONField()
    statement_es = models.TextField()
    statement_en = models.TextField(blank=True)
    starter_files = models.JSONField(default=dict)  # {path: text}
    solution_files = models.JSONField(default=dict)
    alternative_files = models.JSONField(default=dict)  # {name: {path: text}}
    wrong_files = models.JSONField(default=dict)  # {name: {path: text}}
    suite_files = models.JSONField(default=dict)  # graders/<slug>/ {path: text}
    validation = models.JSONField(default=dict, blank=True)  # the check_graders table

    class Meta:
        ordering = ["exercise", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["exercise", "content_hash"], name="version_hash_unique"
            ),
        ]
        verbose_name = _("versión del corrector")
        verbose_name_plural = _("versiones del corrector")

    def __str__(self) -> str:
        return f"{self.exercise.slug} v{self.number}"

    @property
    def statement(self) -> str:
        return _pick(self, "statement")

    @cached_property
    def run_spec(self) -> RunSpec:
        """How the exercise runs (the manifest's `[run]`): entry files, limits, queue, with
        the defaults filled in. Validated when it was stored; parsed once per instance."""
        return RunSpec.model_validate(self.manifest["run"])

    @property
    def entry_files(self) -> list[str]:
        return list(self.run_spec.entry)
