"""Ids in every log line: which request, which submission, which run.

A request id comes from the load balancer (`X-Request-ID`) or is made here; it goes back
in the response header, onto every log record written while the request is served, and
into the headers of every Celery task queued by it, so a worker's lines about a run can
be found from the request that submitted it. The worker adds the submission id and the
run id (the run's fencing token) while it grades.

The ids live in context variables: a worker thread or an ASGI task sees only its own.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# Celery message header carrying the id of the request that queued the task.
TASK_HEADER = "taller_request_id"
# What a client or a load balancer may hand us: ids as they make them (uuids, hex, AWS
# "Root=1-..."), bounded; anything else would let a client write into our logs.
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+-]{0,127}")

request_id: ContextVar[str] = ContextVar("request_id", default="")
submission_id: ContextVar[int | None] = ContextVar("submission_id", default=None)
run_id: ContextVar[str] = ContextVar("run_id", default="")
celery_task_id: ContextVar[str] = ContextVar("task_id", default="")

_VARS: tuple[ContextVar[Any], ...] = (request_id, submission_id, run_id, celery_task_id)
access_logger = logging.getLogger("taller.request")


def current_ids() -> dict[str, Any]:
    """The ids in force, without the empty ones."""
    ids = {var.name: var.get() for var in _VARS}
    return {name: value for name, value in ids.items() if value not in ("", None)}


@contextlib.contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Set some ids for a block; every id (also those set inside) is restored after it."""
    saved = [(var, var.get()) for var in _VARS]
    by_name = {var.name: var for var in _VARS}
    for name, value in values.items():
        by_name[name].set(value)
    try:
        yield
    finally:
        for var, value in saved:
            var.set(value)


def valid_request_id(value: str | None) -> str:
    """The caller's id when it is a plausible one, else a fresh one."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Puts the ids in force on each record (as attributes: JSON fields, or plain suffix)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_ids().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, then the ids and extras."""

    def __init__(self, **kwargs: Any) -> None:
        renamed = {"asctime": "time", "levelname": "level", "name": "logger"}
        kwargs.setdefault("rename_fields", renamed)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs)


class PlainFormatter(logging.Formatter):
    """The development format, with the ids at the end of the line when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(
            f"{var.name}={getattr(record, var.name)}" for var in _VARS if hasattr(record, var.name)
        )
        return f"{line} [{ids}]" if ids else line


class RequestIdMiddleware:
    """First in the stack: the request id for everything below, and one access log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = valid_request_id(request.headers.get(REQUEST_ID_HEADER))
        started = time.monotonic()
        with log_context(request_id=rid):
            response = self.get_response(request)
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 2),
                },
            )
        response.headers[REQUEST_ID_HEADER] = rid
        return response


# Celery: the request id travels in the message headers; the worker restores it.


def on_before_task_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    rid = request_id.get()
    if rid and headers is not None:
        headers.setdefault(TASK_HEADER, rid)


def on_task_prerun(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    _clear()
    celery_task_id.set(task_id or "")
    rid = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if rid:
        request_id.set(valid_request_id(str(rid)))


def on_task_postrun(**kwargs: Any) -> None:
    # A pool process runs many tasks: nothing of one may show in the next one's lines.
    _clear()


def _clear() -> None:
    for var in _VARS:
        var.set(None if var is submission_id else "")
