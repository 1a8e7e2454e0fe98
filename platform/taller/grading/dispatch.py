"""Work for the grading workers, sent by task name.

Services say *what* is to run (a task name, its arguments, a queue) and never import the
tasks or the in-process executor, which both import the services: the arrows run one
way (`.importlinter`'s contracts in pyproject.toml). With Celery the message goes to the
broker by name; in the embedded default the grading app registers, when Django is ready,
what runs each name in the server's own thread pool (`grading/apps.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

GRADE_SUBMISSION = "taller.grade_submission"
VALIDATE_GRADER_VERSION = "taller.validate_grader_version"

_in_process: dict[str, Callable[..., object]] = {}


def register_in_process(name: str, run: Callable[..., object]) -> None:
    _in_process[name] = run


def send(name: str, *args: object, queue: str | None = None, countdown: float = 0.0) -> None:
    """Run `name(*args)` on `queue`'s workers (None: the task's route in CELERY_TASK_ROUTES),
    `countdown` seconds from now at the earliest."""
    if settings.TALLER_GRADING == "celery":
        from taller.celery import app

        # A signature, not send_task: where the task is registered (a worker, the tests'
        # eager mode) its own apply_async runs, with its options.
        signature = app.signature(name, args=args)
        options: dict[str, Any] = {"queue": queue} if queue else {}
        if countdown > 0:
            options["countdown"] = countdown
        signature.apply_async(**options)
    elif countdown > 0:
        timer = threading.Timer(countdown, _in_process[name], args=args)
        timer.daemon = True
        timer.start()
    else:
        _in_process[name](*args)
