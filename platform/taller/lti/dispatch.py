"""LTI's background work, sent by task name.

Services say what is to run and never import the tasks or the in-process executor,
which import the services (the layering the project pins with import-linter). With
Celery the message goes to the broker by name; in the embedded default this app
registers, when Django is ready, what runs each name in the server's thread pool
(lti/apps.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

SEND_SCORE = "taller.lti_send_score"
SYNC_ROSTER = "taller.lti_sync_roster"

_in_process: dict[str, Callable[..., object]] = {}


def register_in_process(name: str, run: Callable[..., object]) -> None:
    _in_process[name] = run


def send(name: str, *args: object, countdown: float = 0) -> None:
    if settings.TALLER_GRADING == "celery":
        from taller.celery import app

        # A signature, not send_task: where the task is registered (a worker, the
        # tests' eager mode) its own apply_async runs, with its options and route.
        signature = app.signature(name, args=args)
        if countdown:
            signature.apply_async(countdown=countdown)
        else:
            signature.apply_async()
    else:
        _in_process[name](*args)
