from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SimilarityReport(models.Model):
    """One analysis of a cohort's latest submissions to an exercise, compared pairwise.

    `state` is a small state machine: queued → running → done or failed, each move under
    select_for_update (services.py). What was compared is fixed when the report is asked
    for (`entries`), and `inputs_key` hashes it: the same inputs find this report again
    instead of being analysed twice; a new submission changes the key.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("en cola")
        RUNNING = "running", _("analizando")
        DONE = "done", _("terminado")
        FAILED = "failed", _("fallido")

    cohort = models.ForeignKey(
        "cohorts.Cohort", on_delete=models.CASCADE, related_name="similarity_reports"
    )
    exercise = models.ForeignKey(
        "courses.Exercise", on_delete=models.CASCADE, related_name="similarity_reports"
    )
    include_earlier = models.BooleanField(default=False)
    inputs_key = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    # [{"submission": id, "student": id, "cohort": id, "earlier": bool}] in the order sent.
    entries = models.JSONField(default=list)
    # Template code left out of the matches: the grader versions whose starter and
    # reference solution were sent as Dolos's ignored file.
    template_versions = models.JSONField(default=list)
    progress = models.JSONField(default=dict, blank=True)  # {"stage", "done", "total"}
    engine = models.JSONField(default=dict, blank=True)  # {"name", "version", "options"}
    # A code (see services.FAILURES) and its details; the pages say it in words.
    error_code = models.CharField(max_length=32, blank=True)
    error_detail = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["cohort", "exercise", "include_earlier", "-created_at"]),
        ]
        verbose_name = _("análisis de similitud")
        verbose_name_plural = _("análisis de similitud")

    def __str__(self) -> str:
        return f"{self.cohort} · {self.exercise} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class RowJSONField(models.JSONField):  # type: ignore[type-arg]
    """A JSONField that bulk_create inserts row by row in VALUES, not through UNNEST.

    Django 5.2 inserts batches on PostgreSQL as arrays (UNNEST); psycopg then escapes
    every quote of every JSON document in Python, which took 3 of the 5 s of storing a
    100-student report's 513 pairs (bench/similarity.py). A field with a placeholder of
    its own opts out of UNNEST, and each document is sent as a parameter of its own.
    """

    def get_placeholder(self, value: object, compiler: object, connection: object) -> str:
        return "%s"


class SimilarPair(models.Model):
    """Two submissions of a report and what they share (pairs below the floor are not kept).

    Sizes are Dolos's: k-grams (fingerprints of token sequences), which survive renamed
    identifiers and moved code; `longest_lines` is the longest shared fragment in lines.
    """

    report = models.ForeignKey(SimilarityReport, on_delete=models.CASCADE, related_name="pairs")
    left = models.ForeignKey("submissions.Submission", on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey("submissions.Submission", on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField()
    longest = models.PositiveIntegerField()
    longest_lines = models.PositiveIntegerField()
    overlap = models.PositiveIntegerField()
    left_covered = models.PositiveIntegerField()
    right_covered = models.PositiveIntegerField()
    left_total = models.PositiveIntegerField()
    right_total = models.PositiveIntegerField()
    # [{"kgrams": n, "left": [{"path", "start", "end"}], "right": [...]}], lines 1-based.
    fragments = RowJSONField(default=list)

    class Meta:
        ordering = ["-similarity", "-longest", "id"]
        indexes = [models.Index(fields=["report", "-similarity"])]
        verbose_name = _("par similar")
        verbose_name_plural = _("pares similares")

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id}: {self.similarity:.2f}"
