"""How a web process runs its HTTP requests: in a few long-lived threads, one request per
thread at a time, first come, first served.

Django's ASGI handler, as it comes, made the exercise page 14.2 ms instead of 11.1 (in
process, through the ASGI interface, medians of eight blocks), and slow under load:

- it starts a new thread for every request (a ThreadSensitiveContext of its own) and
  joins it afterwards;
- it builds the middleware chain in async mode, so each synchronous middleware (WhiteNoise,
  ours) between async-capable ones, and the synchronous view, is a switch between the
  event loop and that thread: seven per page;
- it lets every request in at once, so a process serving several shares its CPU between
  them and a burst makes every one of them late (bench/scale.py, 50 students with think
  time, one process: page p99 55 to 85 ms against 33 to 74 ms one at a time in a quiet
  hour, 155 to 427 ms against 86 to 106 ms in a busy one).

Here a request borrows one of `threads` threads for its whole life, waits its turn for one
when all are busy, and runs the chain as under WSGI. It enters the thread once for the
request_started signal, the middleware and view, and closing the response (which sends
request_finished; a streamed response is closed after it is sent), where Django's handler
enters it three times and starts a task per request to watch for the client leaving,
which only an async view could act on: each entry cost 0.25 ms of CPU here, and doing
without them took the exercise page's web CPU from 11.2 to 9.7 ms (bench/compare.py, in
turns). It is the sync-worker model of WSGI servers inside an ASGI one: parallelism comes
from more processes (docker-compose.yml, N web hosts), not from threads within one.
WebSockets do not come here (taller/asgi.py routes them to Channels): they wait on Redis,
not the CPU.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix


def http_application(threads: int) -> ASGIHandler:
    """The HTTP application of a web process: `threads` request threads, or with 0 Django's
    own handler (a new thread per request, no limit), kept to compare against."""
    return RequestThreadsASGIHandler(threads) if threads > 0 else ASGIHandler()


class RequestThreadsASGIHandler(ASGIHandler):
    """Django's ASGI handler with a fixed set of request threads (at least one)."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("a web process needs at least one request thread")
        super().__init__()
        self._idle = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{n}")
            for n in range(threads)
        ]
        # Created on first use, in the server's event loop.
        self._turns: asyncio.Semaphore | None = None
        self._threads = threads

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # the chain as under WSGI

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # Django's own refusal
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self._threads)
        async with self._turns:  # first come, first served
            thread = self._idle.pop()
            try:
                # Everything the request runs synchronously (signals, middleware, view,
                # closing the response) runs in this thread, as Django expects of a
                # request: its database connection is this thread's.
                async with ThreadSensitiveContext(executor=thread):
                    await self.handle(scope, receive, send)
            finally:
                self._idle.append(thread)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return  # the client left before it finished sending
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:  # its content is read as it is sent: closed after
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """In the request's thread: everything of the request that is not sending it."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = self.get_response(request) if request is not None else error_response
        assert response is not None  # create_request gives a request or a response
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            # Its content is in memory: closing it now (request_finished: the database
            # connection goes back to the pool) leaves it to send.
            response.close()
        return response
