"""Who may show Taller in a frame: the registered platforms' pages, nobody else.

The site's CSP says frame-ancestors 'none' and X-Frame-Options DENY. With platforms
registered, a student inside the LMS's iframe must see every page (the exercise, its
live results), so those pages name the platforms' origins in frame-ancestors instead,
and drop X-Frame-Options, which cannot name origins (browsers obey CSP's directive
over it anyway). The admin stays unframeable.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from taller.lti.selectors import frame_origins


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            return response
        origins = frame_origins()
        if origins:
            response._csp_replace = {"frame-ancestors": origins}  # type: ignore[attr-defined]
            if "X-Frame-Options" in response:
                del response["X-Frame-Options"]
        return response
