"""A web process runs its HTTP requests one at a time, in the order they came."""

from __future__ import annotations

import asyncio
from typing import Any

from taller.web.serving import HttpConcurrencyLimit


class SlowApp:
    """Stands in for Django: each request takes a while and says when it ran."""

    def __init__(self) -> None:
        self.log: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.log.append(f"start {scope['path']}")
        await asyncio.sleep(0.05)
        self.log.append(f"end {scope['path']}")


def run_together(limit: int, *scopes: dict[str, Any]) -> list[str]:
    app = SlowApp()
    limited = HttpConcurrencyLimit(app, limit)

    async def main() -> None:
        await asyncio.gather(*(limited(scope, None, None) for scope in scopes))

    asyncio.run(main())
    return app.log


def http(path: str) -> dict[str, Any]:
    return {"type": "http", "path": path}


def test_with_a_limit_of_one_requests_run_one_after_another_first_come_first_served() -> None:
    log = run_together(1, http("/a"), http("/b"), http("/c"))
    assert log == ["start /a", "end /a", "start /b", "end /b", "start /c", "end /c"]


def test_without_a_limit_requests_overlap() -> None:
    log = run_together(0, http("/a"), http("/b"))
    assert log[:2] == ["start /a", "start /b"]


def test_websockets_are_not_held_back_by_a_busy_http_request() -> None:
    log = run_together(1, http("/a"), {"type": "websocket", "path": "/ws"})
    assert log[:2] == ["start /a", "start /ws"]
