"""Receivers, because the changes they follow happen in other apps' code and in the
Django admin: a submission's score (grading, regrades, an admin's correction), a
deadline or a late policy (which change what the gradebook shows, so what the LMS must
show), and the registrations that decide who may frame Taller."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from lti_tool.models import LtiRegistration

from taller.cohorts.models import Cohort, CohortExercise
from taller.lti import services
from taller.lti.models import Platform
from taller.submissions.models import Submission


@receiver(post_save, sender=Submission)
def submission_scored(sender: type[Submission], instance: Submission, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if instance.cohort_id is None or instance.score is None:
        return
    if fields is not None and "score" not in fields:
        return
    services.grade_changed(
        cohort_id=instance.cohort_id, exercise=instance.exercise, student_id=instance.student_id
    )


@receiver([post_save, post_delete], sender=LtiRegistration)
@receiver([post_save, post_delete], sender=Platform)
def platforms_changed(sender: type, instance: object, **kwargs: Any) -> None:
    services.frame_origins_forget()


@receiver([post_save, post_delete], sender=CohortExercise)
def deadline_changed(sender: type[CohortExercise], instance: CohortExercise, **kwargs: Any) -> None:
    services.grade_changed(cohort_id=instance.cohort_id, exercise=instance.exercise)


_POLICY = ("late_penalty_percent_per_day", "late_days_accepted")


@receiver(pre_save, sender=Cohort)
def _policy_before(sender: type[Cohort], instance: Cohort, **kwargs: Any) -> None:
    if instance.pk is not None:
        instance._lti_policy_before = (  # type: ignore[attr-defined]
            Cohort.objects.filter(pk=instance.pk).values_list(*_POLICY).first()
        )


@receiver(post_save, sender=Cohort)
def policy_changed(sender: type[Cohort], instance: Cohort, **kwargs: Any) -> None:
    before = getattr(instance, "_lti_policy_before", None)
    if before is not None and tuple(before) != tuple(getattr(instance, f) for f in _POLICY):
        services.cohort_grades_resend(instance)
