"""The Celery app. Workers: `celery -A taller worker -Q grading` (and `-Q heavy`)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")

app = Celery("taller")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["taller.grading"])
