"""The channel layer as production configures it, against a real Redis."""

from __future__ import annotations

import asyncio

from channels_redis.core import RedisChannelLayer

from taller.settings.base import redis_channel_layer

from .stack import RedisServer

WATCHERS = 300


def test_a_burst_of_results_to_many_watchers_of_one_web_process_loses_none(
    redis_server: RedisServer,
) -> None:
    """Every consumer of one web process shares one Redis key; a burst of results (a
    class's runs finishing together, a regrade) must not overflow it."""

    async def burst() -> list[int]:
        layer = RedisChannelLayer(**redis_channel_layer(redis_server.url)["CONFIG"])
        try:
            # As many consumers in one process, each watching its own submission.
            channels = [await layer.new_channel() for _ in range(WATCHERS)]
            for n, channel in enumerate(channels):
                await layer.group_add(f"submission-{n}", channel)
            for n in range(WATCHERS):
                event = {"type": "submission.event", "payload": {"type": "finished", "n": n}}
                await layer.group_send(f"submission-{n}", event)
            received = [await asyncio.wait_for(layer.receive(c), 5) for c in channels]
            return [message["payload"]["n"] for message in received]
        finally:
            await layer.flush()
            await layer.close_pools()

    assert asyncio.run(burst()) == list(range(WATCHERS))
