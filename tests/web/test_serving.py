"""A web process runs its HTTP requests in a few long-lived threads, one request per
thread, in the order they came (taller/web/serving.py)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.core.signals import request_finished, request_started

from taller.web.serving import RequestThreadsASGIHandler, http_application
from tests.web import serving_urls


@pytest.fixture(autouse=True)
def slow_pages(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.web.serving_urls"
    serving_urls.log.clear()
    serving_urls.meeting.clear()


def meet(*names: str) -> None:
    """These pages finish only once all of them have started."""
    barrier = threading.Barrier(len(names))
    serving_urls.meeting.update(dict.fromkeys(names, barrier))


async def get(app: Any, path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    requested = False
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def run_together(app: Any, *names: str) -> list[tuple[int, bytes]]:
    async def main() -> list[tuple[int, bytes]]:
        tasks = []
        for name in names:
            tasks.append(asyncio.create_task(get(app, f"/slow/{name}/")))
            await asyncio.sleep(0.005)  # they arrive in this order
        return list(await asyncio.gather(*tasks))

    return asyncio.run(main())


def order() -> list[str]:
    return [f"{event} {name}" for event, name, _ in serving_urls.log]


def threads() -> set[int]:
    return {thread for _, _, thread in serving_urls.log}


def test_with_one_thread_requests_run_one_after_another_first_come_first_served() -> None:
    app = RequestThreadsASGIHandler(1)
    answers = run_together(app, "a", "b", "c")
    assert answers == [(200, b"a"), (200, b"b"), (200, b"c")]
    assert order() == ["start a", "end a", "start b", "end b", "start c", "end c"]
    # The same thread each time: none is started (and joined) per request.
    assert len(threads()) == 1
    run_together(app, "d")
    assert len(threads()) == 1 and threading.get_ident() not in threads()


def test_with_two_threads_two_requests_run_at_once_and_a_third_waits() -> None:
    meet("a", "b")
    answers = run_together(RequestThreadsASGIHandler(2), "a", "b", "c")
    assert [status for status, _ in answers] == [200, 200, 200]
    assert sorted(order()[:2]) == ["start a", "start b"]
    assert order().index("start c") > min(order().index("end a"), order().index("end b"))
    assert len(threads()) == 2


def test_without_a_limit_each_request_gets_a_thread_of_its_own_as_django_does() -> None:
    meet("a", "b", "c")
    answers = run_together(http_application(0), "a", "b", "c")
    assert [status for status, _ in answers] == [200, 200, 200]
    assert sorted(order()[:3]) == ["start a", "start b", "start c"]


def test_a_request_runs_its_signals_middleware_and_view_in_its_one_thread() -> None:
    """What Django expects of a request: the database connection that request_started
    closes when stale, and that the view uses, is the same thread's."""
    seen: list[int] = []

    def on_started(**kwargs: Any) -> None:
        seen.append(threading.get_ident())

    request_started.connect(on_started)
    try:
        run_together(RequestThreadsASGIHandler(1), "a")
    finally:
        request_started.disconnect(on_started)
    assert seen == [serving_urls.log[0][2]]


# Django warns that it reads a synchronous stream in a thread: as it should here.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_a_request_is_finished_in_its_thread_once_whatever_its_response() -> None:
    """request_finished hands the thread's database connection back: in the request's
    thread, once, and for a streamed response only after its last part was made."""
    finished: list[int] = []

    def on_finished(**kwargs: Any) -> None:
        finished.append(threading.get_ident())
        serving_urls.log.append(("finished", "", threading.get_ident()))

    request_finished.connect(on_finished)
    try:
        app = RequestThreadsASGIHandler(1)
        assert run_together(app, "a") == [(200, b"a")]
        assert asyncio.run(get(app, "/streamed/")) == (200, b"part 0;part 1;part 2;")
    finally:
        request_finished.disconnect(on_finished)
    assert order() == ["start a", "end a", "finished ", "part 0", "part 1", "part 2", "finished "]
    assert set(finished) == threads() and len(threads()) == 1


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_a_streamed_response_is_finished_even_when_sending_it_fails() -> None:
    finished: list[int] = []

    def on_finished(**kwargs: Any) -> None:
        finished.append(threading.get_ident())

    async def main() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/streamed/",
            "raw_path": b"/streamed/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                raise OSError("the connection is gone")

        with pytest.raises(OSError):
            await RequestThreadsASGIHandler(1)(scope, receive, send)

    request_finished.connect(on_finished)
    try:
        asyncio.run(main())
    finally:
        request_finished.disconnect(on_finished)
    assert len(finished) == 1


def test_an_unknown_page_is_still_django_s_404() -> None:
    status, _ = asyncio.run(get(RequestThreadsASGIHandler(1), "/nowhere/"))
    assert status == 404
