"""The Celery app. Workers: `celery -A taller worker -Q grading` (and `-Q heavy`)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")

app = Celery("taller")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["taller.grading"])


@worker_ready.connect
def _sweep_leftovers(**kwargs: object) -> None:
    """A worker that starts cleans what a crashed one left: sandboxes and per-run services."""
    from taller.grading.services import sweep_leftovers

    sweep_leftovers()
