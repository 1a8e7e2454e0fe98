"""Live events to a submission's Channels group (every subscriber filters for its user).

The events are grading/events.py's models, sent as their JSON (docs/events.md).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from taller.grading.events import PushedEvent

logger = logging.getLogger(__name__)


def group_name(submission_id: int) -> str:
    return f"submission-{submission_id}"


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
        async_to_sync(send_all)()
    except Exception:
        # A push is a courtesy: the page fetches the final state if it misses events,
        # so a Redis hiccup must never fail a grading run.
        logger.warning("could not push to submission %s", submission_id, exc_info=True)


def on_commit(submission_id: int, *events: PushedEvent) -> None:
    transaction.on_commit(lambda: now(submission_id, *events))
