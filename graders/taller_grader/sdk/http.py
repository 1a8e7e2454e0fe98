"""A small HTTP client for grader suites.

Every request opens a fresh connection (the cluster exercise counts pids per
connection; keep-alive would hide a broken balancer) and every response remembers the
request that produced it, so a failed check can tell the student exactly what was sent
and what came back.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

_BODY_PREVIEW = 300
_MISSING = object()


class NoAnswer(AssertionError):
    """The student's server did not answer at all (refused, reset, or timed out)."""


def _es(body: str) -> str:
    return "(vacío)" if body == "(empty)" else body


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def describe(self) -> str:
        text = f"{self.method} {self.path}"
        if self.body:
            preview = self.body[:_BODY_PREVIEW].decode("utf-8", "replace")
            text += f" con el cuerpo {preview}"
        return text


@dataclass(frozen=True)
class Response:
    request: Request
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    elapsed: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or a failure that says what the body was instead."""
        if self.content_type != "application/json":
            raise AssertionError(
                f"{self.request.describe()}: se esperaba una respuesta JSON (Content-Type: "
                f"application/json) y llegó Content-Type {self.content_type or '(ninguno)'!r} "
                f"con el cuerpo {_es(self.preview())}"
            )
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(
                f"{self.request.describe()}: el cuerpo no es JSON válido: {self.preview()}"
            ) from None

    def preview(self) -> str:
        """The body as one short line: enough to recognise it, not a page of HTML."""
        if not self.body:
            return "(empty)"
        text = " ".join(self.text.split())
        return text if len(text) <= _BODY_PREVIEW else text[:_BODY_PREVIEW] + "…"

    def describe(self) -> str:
        return f"{self.request.describe()} → {self.status} {self.preview()}"

    def expect_status(self, *expected: int) -> Response:
        if self.status not in expected:
            wanted = " o ".join(str(s) for s in expected)
            raise AssertionError(
                f"{self.request.describe()}: se esperaba el estado {wanted} y llegó "
                f"{self.status} con el cuerpo {_es(self.preview())}"
            )
        return self

    def expect_json(self, status: int) -> Any:
        """Status and a JSON body in one go; returns the decoded body."""
        self.expect_status(status)
        return self.json()


class HttpClient:
    def __init__(self, host: str = "127.0.0.1", port: int = 3000, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _MISSING,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        import time

        sent_headers = dict(headers or {})
        body: bytes | None = None
        if json_body is not _MISSING:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        if params:
            path = f"{path}{'&' if '?' in path else '?'}{urlencode(params)}"
        request = Request(method, path, sent_headers, body)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=sent_headers)
            answer = conn.getresponse()
            payload = answer.read()
        except TimeoutError:
            raise NoAnswer(
                f"{request.describe()}: sin respuesta en {timeout or self.timeout:g} s"
            ) from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            raise NoAnswer(
                f"{request.describe()}: el servidor no respondió ({exc.__class__.__name__}: "
                f"{exc}). ¿Se cayó? Mira su salida abajo."
            ) from None
        finally:
            conn.close()
        return Response(
            request=request,
            status=answer.status,
            headers={k.lower(): v for k, v in answer.getheaders()},
            body=payload,
            elapsed=time.monotonic() - started,
        )

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = _MISSING, **kwargs: Any) -> Response:
        return self.request("POST", path, json_body=json, **kwargs)

    def put(self, path: str, json: Any = _MISSING, **kwargs: Any) -> Response:
        return self.request("PUT", path, json_body=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)
