"""The Celery app. Workers: `celery -A taller worker -Q grading` (and `-Q heavy`)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_ready,
)

from taller import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")

app = Celery("taller")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["taller.grading", "taller.lti"])


@worker_ready.connect
def _sweep_leftovers(**kwargs: object) -> None:
    """A worker that starts cleans what a crashed one left: sandboxes and per-run services."""
    from taller.grading.services import sweep_leftovers

    sweep_leftovers()


@worker_process_init.connect
def _keep_database_connections(**kwargs: object) -> None:
    """A pool process runs one task at a time, in one thread: it keeps its connection
    between tasks (Celery's Django fixup closes an obsolete or broken one around each
    task) instead of opening one per run. Web processes do not: their connections are
    per thread (settings.production)."""
    from django.conf import settings
    from django.db import connections

    for alias in connections:
        options = connections[alias].settings_dict
        if options.get("CONN_MAX_AGE") == 0 and "pool" not in options.get("OPTIONS", {}):
            options["CONN_MAX_AGE"] = settings.TALLER_WORKER_CONN_MAX_AGE


@worker_process_init.connect
def _push_from_own_loop(**kwargs: object) -> None:
    """A pool process's pushes share one event loop and its Redis connections instead of
    making both anew for every batch of results (grading/push.py)."""
    from taller.grading import push

    push.use_own_loop()


@setup_logging.connect
def _django_logging(**kwargs: object) -> None:
    """Workers and beat log as the web does (settings.LOGGING: JSON in production, ids)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# The id of the request that queued a task rides in its headers to the worker.
before_task_publish.connect(observability.on_before_task_publish, weak=False)
task_prerun.connect(observability.on_task_prerun, weak=False)
task_postrun.connect(observability.on_task_postrun, weak=False)
