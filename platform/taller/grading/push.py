"""Live events to a submission's Channels group (every subscriber filters for its user).

The events are grading/events.py's models, sent as their JSON (docs/events.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from taller.grading.events import PushedEvent

logger = logging.getLogger(__name__)
# How long a push may take before the run goes on without it.
SEND_TIMEOUT_SECONDS = 10.0


def group_name(submission_id: int) -> str:
    return f"submission-{submission_id}"


class _OwnLoop:
    """An event loop of the process's own, in a thread that lasts, for pushes from code
    that has none (a Celery pool process).

    There, async_to_sync makes a new event loop in a new thread for every call, and
    channels_redis keeps its Redis connections per loop: each push (one per batch of
    results, some twenty a run) opened a connection, said hello, sent and closed it,
    ~2.5 ms of the worker's CPU each and Redis's too. Here the connections last.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _forget_in_child(self) -> None:
        # A forked child has none of its parent's threads: it starts its own loop.
        self._lock = threading.Lock()
        self._loop = None

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="taller-push", daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running())
        try:
            future.result(timeout=SEND_TIMEOUT_SECONDS)
        except BaseException:
            future.cancel()
            raise


_own_loop = _OwnLoop()
os.register_at_fork(after_in_child=_own_loop._forget_in_child)


def use_own_loop() -> None:
    """Push from an event loop of this process's own (see _OwnLoop); for processes whose
    threads never run one, as Celery's pool processes."""
    _own_loop.enabled = True


def now(submission_id: int, *events: PushedEvent) -> None:
    """Send the events to the submission's group, in order, over one connection."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = group_name(submission_id)
    payloads = [event.model_dump(mode="json") for event in events]

    async def send_all() -> None:
        for payload in payloads:
            await layer.group_send(group, {"type": "submission.event", "payload": payload})

    try:
        if _own_loop.enabled:
            _own_loop.run(send_all())
        else:
            async_to_sync(send_all)()
    except Exception:
        # A push is a courtesy: the page fetches the final state if it misses events,
        # so a Redis hiccup must never fail a grading run.
        logger.warning("could not push to submission %s", submission_id, exc_info=True)


def on_commit(submission_id: int, *events: PushedEvent) -> None:
    transaction.on_commit(lambda: now(submission_id, *events))
