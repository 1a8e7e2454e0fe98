"""What Taller keeps about LMS platforms beyond django-lti's own models.

django-lti (`lti_tool`) holds registrations, deployments, users (issuer's subject),
contexts, memberships, resource links, line items and Taller's signing keys. Here:
which sites may frame Taller, which cohort a context is, the replay guard for launch
nonces, and the outbox of scores owed to the LMS.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.Model):
    """Taller's settings for one registration."""

    registration = models.OneToOneField(
        "lti_tool.LtiRegistration", on_delete=models.CASCADE, related_name="taller"
    )
    # The LMS pages that show Taller in an iframe (CSP frame-ancestors). Not the issuer:
    # Canvas's issuer is canvas.instructure.com while its pages are the institution's.
    frame_origins = models.TextField(
        _("orígenes que pueden enmarcar Taller"),
        blank=True,
        help_text=_("Uno por línea, p. ej. https://campus.example.edu"),
    )

    class Meta:
        verbose_name = _("plataforma LTI")
        verbose_name_plural = _("plataformas LTI")

    def __str__(self) -> str:
        return str(self.registration)


class ContextCohort(models.Model):
    """An LMS course (context) is one Taller cohort; several sections may share one."""

    context = models.OneToOneField(
        "lti_tool.LtiContext", on_delete=models.CASCADE, related_name="taller_cohort"
    )
    cohort = models.ForeignKey(
        "cohorts.Cohort", on_delete=models.CASCADE, related_name="lti_contexts"
    )
    roster_synced_at = models.DateTimeField(null=True, blank=True)
    roster_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("contexto LTI de un cohorte")
        verbose_name_plural = _("contextos LTI de cohortes")

    def __str__(self) -> str:
        return f"{self.context} → {self.cohort}"


class UsedNonce(models.Model):
    """A launch's nonce, once accepted: the same id_token posted again is refused."""

    issuer = models.CharField(max_length=255)
    nonce = models.CharField(max_length=255)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "nonce"], name="lti_nonce_once")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.nonce}"


class ScoreSync(models.Model):
    """The score a student's line item should show, and whether the LMS has it.

    One row per line item and student. A grade change bumps `revision` in the same
    transaction as the change; a task sends the score the gradebook shows at sending
    time and records the revision it covered. A row whose sent revision is behind is
    owed to the LMS, whatever happened to the task that should have sent it: the beat
    task sends it again, so nothing is lost.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pendiente")
        SENDING = "sending", _("enviando")
        SENT = "sent", _("enviada")
        FAILED = "failed", _("fallida")

    line_item = models.ForeignKey(
        "lti_tool.LtiLineItem", on_delete=models.CASCADE, related_name="score_syncs"
    )
    lti_user = models.ForeignKey(
        "lti_tool.LtiUser", on_delete=models.CASCADE, related_name="score_syncs"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_score_syncs"
    )
    cohort = models.ForeignKey("cohorts.Cohort", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    revision = models.PositiveIntegerField(default=1)
    sent_revision = models.PositiveIntegerField(default=0)
    # What was last sent (None: nothing yet).
    score_given = models.FloatField(null=True, blank=True)
    score_maximum = models.FloatField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # A sender holds the row until then; past it, the row is presumed abandoned.
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line_item", "lti_user"], name="lti_sync_once")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name = _("nota enviada al LMS")
        verbose_name_plural = _("notas enviadas al LMS")

    def __str__(self) -> str:
        return f"{self.student} @ {self.line_item}: {self.state}"
