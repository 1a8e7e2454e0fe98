"""One WebSocket consumer: a submission's live events, for those allowed to see them."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from taller.grading import push
from taller.grading.selectors import submission_snapshot, viewer_for


class SubmissionConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/submissions/<id>/`: session (or token) authenticated; owner and staff only.

    Every subscriber receives the same group messages; each connection filters them for
    its own user, so a student never receives a hidden test's name or output.
    """

    async def connect(self) -> None:
        self.submission_id = int(self.scope["url_route"]["kwargs"]["submission_id"])
        self.viewer = await database_sync_to_async(viewer_for)(
            self.scope.get("user"), self.submission_id
        )
        if self.viewer is None:
            await self.close(code=4403)
            return
        self.group = push.group_name(self.submission_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Whatever happened before this connection: the page starts from the truth.
        snapshot = await database_sync_to_async(submission_snapshot)(
            self.submission_id, self.viewer
        )
        await self.send_json({"type": "snapshot", **snapshot})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The channel is one-way; clients have nothing to say.
        return None

    async def submission_event(self, message: dict[str, Any]) -> None:
        await self.send_json(self.viewer.filter_event(message["payload"]))


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Every WebSocket path that is not a submission's: the handshake is refused (403,
    as the server answers a handshake closed before it is accepted)."""

    async def connect(self) -> None:
        await self.close(code=4404)
