"""A slow page that says which thread ran it, for tests/web/test_serving.py."""

from __future__ import annotations

import threading
import time

from django.http import HttpRequest, HttpResponse
from django.urls import path

log: list[tuple[str, str, int]] = []


def slow(request: HttpRequest, name: str) -> HttpResponse:
    log.append(("start", name, threading.get_ident()))
    time.sleep(0.05)
    log.append(("end", name, threading.get_ident()))
    return HttpResponse(name)


urlpatterns = [path("slow/<str:name>/", slow)]
