"""How a web process takes its HTTP requests: one at a time, first come, first served.

Django runs each request's synchronous view in a thread of its own under ASGI, so a
process serving several requests at once shares its CPU between them and a burst makes
every one of them late. Measured by bench/scale.py (50 students, think time, one Daphne
process): page p99 55 to 68 ms with a thread per request, 33 to 44 ms with this limit, and the
view itself stays at its 10 or 11 ms instead of stretching to 50. It is the sync-worker
model of WSGI servers; parallelism comes from more processes (docker-compose.yml, N
web hosts), not from threads within one. WebSockets are not limited: they wait on Redis,
not on the CPU.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class HttpConcurrencyLimit:
    """ASGI middleware: at most `limit` HTTP requests in the app at once (0: no limit).

    Daphne hands a request over with its body already received, so a slow client does not
    hold a turn while it uploads.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._turns: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.limit)
        async with self._turns:
            await self.app(scope, receive, send)
