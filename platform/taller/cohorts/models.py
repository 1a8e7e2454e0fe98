from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Cohort(models.Model):
    """A group of students taking the course together, with its instructors and dates."""

    name = models.CharField(_("nombre"), max_length=200)
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="cohorts")
    instructors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="taught_cohorts"
    )
    starts_on = models.DateField(_("empieza"))
    ends_on = models.DateField(_("termina"))
    # Late policy: points lost per day late, and how many days late are still accepted.
    late_penalty_percent_per_day = models.DecimalField(
        _("penalización por día de retraso (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    late_days_accepted = models.PositiveSmallIntegerField(_("días de retraso aceptados"), default=3)
    # Whoever has /unirse/<invite_code>/ can sign up into this cohort; empty: no link.
    invite_code = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
            )
        ]
        verbose_name = _("cohorte")
        verbose_name_plural = _("cohortes")

    def __str__(self) -> str:
        return self.name


class CohortExercise(models.Model):
    """An exercise's deadline for one cohort."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="deadlines")
    exercise = models.ForeignKey("courses.Exercise", on_delete=models.CASCADE, related_name="+")
    deadline = models.DateTimeField(_("fecha límite"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "exercise"], name="cohort_exercise_unique")
        ]
        verbose_name = _("fecha límite")
        verbose_name_plural = _("fechas límite")

    def __str__(self) -> str:
        return f"{self.cohort}: {self.exercise} ({self.deadline:%Y-%m-%d %H:%M})"


class Enrollment(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="enrollments")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    enrolled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "student"], name="enrollment_unique")
        ]
        verbose_name = _("inscripción")
        verbose_name_plural = _("inscripciones")

    def __str__(self) -> str:
        return f"{self.student} @ {self.cohort}"
