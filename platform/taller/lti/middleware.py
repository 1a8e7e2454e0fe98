"""Who may show Taller in a frame: the registered platforms' pages, nobody else.

The site's CSP says frame-ancestors 'none' and X-Frame-Options DENY. A person who came
in through an LMS launch works inside the LMS's iframe, so for their session (and for
the launch's own pages under /lti/) every page names the platforms' origins in
frame-ancestors instead, and drops X-Frame-Options, which cannot name origins (browsers
obey CSP's directive over it anyway). Everyone else, and the admin, stay unframeable;
and a request from no launch costs no query.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from lti_tool.constants import SESSION_KEY

from taller.lti.selectors import frame_origins


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            return response
        if not request.path.startswith("/lti/") and not _launched(request):
            return response
        origins = frame_origins()
        if origins:
            response._csp_replace = {"frame-ancestors": origins}  # type: ignore[attr-defined]
            if "X-Frame-Options" in response:
                del response["X-Frame-Options"]
        return response


def _launched(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    # No session cookie: nothing to read (and no query to make).
    if session is None or session.session_key is None:
        return False
    return session.get(SESSION_KEY) is not None
