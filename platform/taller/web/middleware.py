from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _


def accepted_language(header: str) -> str | None:
    """The first of the site's languages an Accept-Language header prefers, if any."""
    languages = {code for code, _ in settings.LANGUAGES}
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        weighted.append((-q, index, tag.strip().lower()[:2]))
    for _q, _i, tag in sorted(weighted):
        if tag in languages:
            return tag
    return None


class CourseLanguageMiddleware:
    """Spanish, the course's language, unless the person chose English with the switcher.

    Django's LocaleMiddleware would follow the browser's Accept-Language instead; here
    only an explicit choice (the language cookie set by /i18n/setlang/) changes it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if request.path.startswith("/api/"):
            # A script asks in the request itself: ?lang=, else Accept-Language. Its
            # refusals and messages come in that language too, not only the titles.
            asked = request.GET.get("lang", "")
            chosen = (
                asked
                if asked in self.languages
                else (accepted_language(request.headers.get("Accept-Language", "")) or chosen)
            )
        language = chosen if chosen in self.languages else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers["Vary"] = ", ".join(filter(None, [response.headers.get("Vary"), "Cookie"]))
        return response


class HealthCheckMiddleware:
    """`/healthz` for load balancers and container health checks.

    Answered before Django validates the Host header or redirects to HTTPS: a probe
    comes by the backend's own address over plain HTTP. It says the process serves
    requests; the databases are checked by their own health checks.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        return self.get_response(request)


class RequestLimitsMiddleware:
    """A form past Django's limits (DATA_UPLOAD_MAX_NUMBER_FIELDS, _MEMORY_SIZE) is
    answered as the site answers any refusal: JSON for the editor's fetch (it asks for
    JSON), a page otherwise.

    Django raises those limits while a middleware reads the form (CSRF's, first), where
    no view can catch them: the answer was Django's bare 400, or the debug page.
    """

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The API reads no forms (415): its bodies are its parser's business.
        if (
            request.method == "POST"
            and request.content_type in self.FORM_TYPES
            and not request.path.startswith("/api/")
        ):
            try:
                request.POST  # noqa: B018 — parsed here, where its errors can be answered
            except RequestDataTooBig:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
                return self.refusal(
                    request,
                    413,
                    _("El envío es demasiado grande (más de %(n)s MB).")
                    % {"n": round(limit / 1_000_000, 1)},
                )
            except (MultiPartParserError, BadRequest):
                return self.refusal(request, 400, _("El formulario no se pudo leer."))
            except (TooManyFieldsSent, TooManyFilesSent):
                return self.refusal(
                    request,
                    400,
                    _("El formulario tiene demasiados campos (máximo %(n)s).")
                    % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
                )
        return self.get_response(request)

    @staticmethod
    def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": message}, status=status)
        return render(request, "refused.html", {"message": message}, status=status)
