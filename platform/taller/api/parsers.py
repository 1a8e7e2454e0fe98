from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "La petición es demasiado grande."


class LimitedJSONParser(JSONParser):
    """JSON, read up to TALLER_API_MAX_REQUEST_BYTES.

    DRF reads the body as a stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so
    without this bound any body would be read into memory whole.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.TALLER_API_MAX_REQUEST_BYTES
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise RequestTooLarge(
                f"La petición ocupa más de {limit} bytes, el máximo que acepta la API."
            )
        return super().parse(io.BytesIO(data), media_type, parser_context)
