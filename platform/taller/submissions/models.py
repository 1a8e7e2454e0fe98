from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from taller_grader.results import RunStatus, TestStatus, Visibility


class Submission(models.Model):
    """One attempt by a student at an exercise, and how it was graded.

    `status` is a small state machine: queued → running → one of the final outcomes of
    the results contract. Only the grading services move it, under select_for_update.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("en cola")
        RUNNING = "running", _("calificando")
        PASSED = RunStatus.PASSED.value, _("aprobado")
        FAILED = RunStatus.FAILED.value, _("con fallos")
        ERROR = RunStatus.ERROR.value, _("error")
        TIMEOUT = RunStatus.TIMEOUT.value, _("tiempo agotado")
        REJECTED = RunStatus.REJECTED.value, _("rechazado")
        INTERNAL_ERROR = RunStatus.INTERNAL_ERROR.value, _("error interno")

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    exercise = models.ForeignKey(
        "courses.Exercise", on_delete=models.PROTECT, related_name="submissions"
    )
    cohort = models.ForeignKey(
        "cohorts.Cohort",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
    )
    grader_version = models.ForeignKey(
        "courses.GraderVersion", on_delete=models.PROTECT, related_name="submissions"
    )
    # A regrade is a new submission with the same files, pointing at the original.
    regrade_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="regrades"
    )
    # The cohort-wide regrade this run belongs to, if any (see RegradeBatch).
    regrade_batch = models.ForeignKey(
        "RegradeBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
    )
    files = models.JSONField()  # {path: text}
    attempt = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    queue = models.CharField(max_length=32, default="grading")  # the Celery queue
    test_count = models.PositiveSmallIntegerField(null=True, blank=True)  # once collected
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    # The whole results document (docs/results.md), hidden tests included;
    # what a student sees is filtered from it.
    results = models.JSONField(null=True, blank=True)
    # Internal errors retried, and runs taken over from a worker that died: both are
    # the platform's doing and bounded, so a poisoned run cannot loop forever.
    retries = models.PositiveSmallIntegerField(default=0)
    takeovers = models.PositiveSmallIntegerField(default=0)
    # Who holds the run, and a fencing token: results from a holder that lost the run
    # (presumed dead, then back) are refused.
    worker = models.CharField(max_length=200, blank=True)
    run_token = models.UUIDField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["student", "exercise", "-submitted_at"]),
            models.Index(fields=["status", "queue", "queued_at"]),
        ]
        verbose_name = _("envío")
        verbose_name_plural = _("envíos")

    def __str__(self) -> str:
        return f"#{self.pk} {self.exercise.slug} by {self.student} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status not in (self.Status.QUEUED, self.Status.RUNNING)


class TestResult(models.Model):
    """One test of a graded run, kept as a row so dashboards can ask which tests fail most."""

    __test__ = False

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="tests")
    position = models.PositiveSmallIntegerField()  # the order the suite defines
    number = models.CharField(max_length=32)
    name = models.CharField(max_length=300)
    score = models.FloatField()
    max_score = models.FloatField()
    status = models.CharField(max_length=8, choices=[(s.value, s.value) for s in TestStatus])
    output = models.TextField(blank=True)
    visibility = models.CharField(
        max_length=8,
        choices=[(v.value, v.value) for v in Visibility],
        default=Visibility.VISIBLE.value,
    )
    # The rest of the test's entry in the results document (version 2): its English
    # name, the check that failed, its HTTP exchanges, its own stdout/stderr. Kept so a
    # reload during a run shows what the live page showed.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["submission", "position"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "position"], name="test_position_unique")
        ]
        verbose_name = _("resultado de prueba")
        verbose_name_plural = _("resultados de pruebas")

    def __str__(self) -> str:
        return f"{self.number} {self.name}: {self.status}"


class RegradeBatch(models.Model):
    """A cohort's latest attempts at one exercise, graded again with one grader version.

    Each regrade is its own Submission (regrade_of the student's attempt, linked here),
    so the earlier results stay in the history beside the new ones.
    """

    cohort = models.ForeignKey(
        "cohorts.Cohort", on_delete=models.CASCADE, related_name="regrade_batches"
    )
    exercise = models.ForeignKey(
        "courses.Exercise", on_delete=models.PROTECT, related_name="regrade_batches"
    )
    grader_version = models.ForeignKey(
        "courses.GraderVersion", on_delete=models.PROTECT, related_name="regrade_batches"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The form's one-time token: a second POST of the same form finds this batch
    # instead of starting another.
    request_token = models.UUIDField(null=True, blank=True, unique=True)
    # Attempts left out because they were still being graded when the batch started.
    skipped = models.JSONField(default=list, blank=True)  # [submission id]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recalificación")
        verbose_name_plural = _("recalificaciones")

    def __str__(self) -> str:
        return f"{self.cohort} · {self.exercise} v{self.grader_version.number}"
