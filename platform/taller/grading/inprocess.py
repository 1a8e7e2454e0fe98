"""The embedded default: grading in the server's own process, off the request thread.

Same code path as a Celery worker (services.run_grading); only the queue differs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache

from django.db import close_old_connections

from taller.grading.services import INPROCESS_PREFIX, run_grading

logger = logging.getLogger(__name__)


class InProcessExecutor:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="taller-grade")
        self._lock = threading.Lock()

    def submit(self, submission_id: int) -> Future[None]:
        return self._pool.submit(self._run, submission_id)

    def submit_call(self, function: Callable[..., object], *args: object) -> Future[object]:
        """Any other background job of the embedded server (e.g. validating a grader)."""

        def run() -> object:
            close_old_connections()
            try:
                return function(*args)
            finally:
                close_old_connections()

        return self._pool.submit(run)

    @staticmethod
    def _run(submission_id: int) -> None:
        close_old_connections()
        try:
            run_grading(
                submission_id, worker=f"{INPROCESS_PREFIX}{socket.gethostname()}:{os.getpid()}"
            )
        except Exception:
            logger.exception("submission %s: in-process grading failed", submission_id)
        finally:
            close_old_connections()


@lru_cache(maxsize=1)
def executor() -> InProcessExecutor:
    return InProcessExecutor()
