"""Pages that say which thread ran them, for tests/web/test_serving.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

log: list[tuple[str, str, int]] = []
# Pages that must run at the same time wait for each other here, rather than on timing: a
# busy machine may start a thread later than any sleep allows for.
meeting: dict[str, threading.Barrier] = {}


def slow(request: HttpRequest, name: str) -> HttpResponse:
    log.append(("start", name, threading.get_ident()))
    if name in meeting:
        meeting[name].wait(timeout=10)  # broken (an error) if the others never come
    else:
        time.sleep(0.05)
    log.append(("end", name, threading.get_ident()))
    return HttpResponse(name)


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    def parts() -> Iterator[bytes]:
        for n in range(3):
            log.append(("part", str(n), threading.get_ident()))
            yield f"part {n};".encode()

    return StreamingHttpResponse(parts())


urlpatterns = [path("slow/<str:name>/", slow), path("streamed/", streamed)]
