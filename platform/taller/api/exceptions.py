"""The API's one exception handler: every refusal is JSON with a `detail` that says why.

DRF's own handler answers validation errors as `{field: [messages]}` and lets Django's
request errors (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields) through to
Django, which answered them with an HTML 400. Here both become JSON: the first reason
in `detail`, the field errors kept beside it. A service's refusal (SubmissionRefused)
is said here too, in the reader's language, with its `code` beside it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from taller.api.parsers import too_large
from taller.submissions.messages import refusal_message
from taller.submissions.services import (
    InvalidSubmission,
    NotRegradable,
    RateLimited,
    SubmissionRefused,
)

# A refusal's HTTP status, by its kind.
REFUSAL_STATUS: tuple[tuple[type[SubmissionRefused], int], ...] = (
    (RateLimited, status.HTTP_429_TOO_MANY_REQUESTS),
    (NotRegradable, status.HTTP_409_CONFLICT),
    (InvalidSubmission, status.HTTP_400_BAD_REQUEST),
)


def _first_reason(errors: Any, prefix: str = "") -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            label = key if key == "non_field_errors" or not prefix else f"{prefix}.{key}"
            return _first_reason(value, "" if key == "non_field_errors" else label)
    if isinstance(errors, list) and errors:
        return _first_reason(errors[0], prefix)
    text = str(errors)
    return f"{prefix}: {text}" if prefix else text


def refused(exc: SubmissionRefused) -> Response:
    answer = next((code for kind, code in REFUSAL_STATUS if isinstance(exc, kind)), 400)
    response = Response({"detail": refusal_message(exc), "code": exc.code}, status=answer)
    if isinstance(exc, RateLimited):
        response.data["retry_after"] = exc.retry_after
        response["Retry-After"] = str(exc.retry_after)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SubmissionRefused):
        return refused(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = too_large(settings.TALLER_API_MAX_REQUEST_BYTES)
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = ParseError(_("La petición trae demasiados campos."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" not in data:
        response.data = {"detail": _first_reason(data), **data}
    elif isinstance(data, list):
        response.data = {"detail": _first_reason(data), "errors": data}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" in response:
        response.data.setdefault("retry_after", int(response["Retry-After"]))
    return response
