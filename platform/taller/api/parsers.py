from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer

# No request of the API nests deeper than a few levels (a files map is two); a deeper
# body is refused before it reaches a serializer, which would walk it recursively.
MAX_JSON_DEPTH = 32


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = gettext_lazy("La petición es demasiado grande.")


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        gettext("La petición ocupa más de %(limit)s bytes, el máximo que acepta la API.")
        % {"limit": limit}
    )


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value`, walked without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


class LimitedJSONParser(BaseParser):
    """JSON, read up to TALLER_API_MAX_REQUEST_BYTES, nested at most MAX_JSON_DEPTH deep.

    Not a JSONParser subclass on purpose: DRF reads a JSONParser's body through Django's
    `request.body`, whose DATA_UPLOAD_MAX_MEMORY_SIZE check answered a bigger body with
    an HTML 400 before this bound could answer 413. Given the stream, this bound is the
    only one, and it reads no more than one byte past it. Python's decoder is recursive:
    a thousand nested brackets raise RecursionError, which DRF does not turn into a 400
    as it does a ValueError.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.TALLER_API_MAX_REQUEST_BYTES
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit)
        try:
            parsed = JSONParser().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            parsed = None
            deep = True
        else:
            deep = _depth(parsed) > MAX_JSON_DEPTH
        if deep:
            raise ParseError(
                gettext("JSON no válido: anida listas u objetos a más de %(max)s niveles.")
                % {"max": MAX_JSON_DEPTH}
            )
        return parsed
