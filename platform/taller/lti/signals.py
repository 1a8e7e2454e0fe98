"""Receivers, because the changes they follow happen in other apps' code and in the
Django admin: a submission's score (grading, regrades, an admin's correction) and the
registrations that decide who may frame Taller."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from lti_tool.models import LtiRegistration

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
        cohort_id=instance.cohort_id, student_id=instance.student_id, exercise=instance.exercise
    )


@receiver([post_save, post_delete], sender=LtiRegistration)
@receiver([post_save, post_delete], sender=Platform)
def platforms_changed(sender: type, instance: object, **kwargs: Any) -> None:
    services.frame_origins_forget()
