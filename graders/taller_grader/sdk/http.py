"""A small HTTP client for grader suites.

Every request opens a fresh connection (the cluster exercise counts pids per
connection; keep-alive would hide a broken balancer) and every response remembers the
request that produced it, so a failed check can tell the student exactly what was sent
and what came back. Each exchange is also recorded (the plugin attaches the last few to
the test's result, with a curl command that sends the same request), and the standard
checks fail with a `CheckFailed`: the Spanish sentence plus a message code and its
parameters, which the site says in the student's language (docs/results.md).
"""

from __future__ import annotations

import http.client
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from taller_grader.results import Check, Exchange, HttpRequest, HttpResponse

_BODY_PREVIEW = 300
_BODY_EXCERPT = 2000  # of each body kept in a recorded exchange
_CURL_BODY_LIMIT = 64 * 1024
_KEEP_EXCHANGES = 5
_MISSING = object()


class CheckFailed(AssertionError):
    """A standard check failed: the message in Spanish, and as a code with parameters."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message)
        self.check = Check(code, params)


class NoAnswer(CheckFailed):
    """The student's server did not answer at all (refused, reset, or timed out)."""


class Recorder:
    """The exchanges of the test running now; the plugin resets it at each test's start.

    Values of the run's secrets (API_KEY, JWT_SECRET, ...) never appear in what is
    recorded: the request shows `$NAME` and the curl command expands the variable.
    """

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.secrets: dict[str, str] = {}

    def reset(self) -> None:
        self.exchanges = []

    def take(self) -> tuple[Exchange, ...]:
        taken, self.exchanges = tuple(self.exchanges[-_KEEP_EXCHANGES:]), []
        return taken

    def record(self, request: Request, base: str, response: Response | None) -> Exchange:
        exchange = Exchange(
            request=HttpRequest(
                method=request.method,
                path=self._hide(request.path),
                headers={k: self._hide(v) for k, v in request.headers.items()},
                body=self._hide(_excerpt(request.body)),
            ),
            response=None
            if response is None
            else HttpResponse(
                status=response.status,
                headers={k: self._hide(v) for k, v in response.headers.items()},
                body=self._hide(_excerpt(response.body)),
                time=round(response.elapsed, 4),
            ),
            curl=curl_command(request, base, self.secrets),
        )
        self.exchanges.append(exchange)
        # Only the last few are ever attached; a test looping over requests must not
        # grow this without bound.
        del self.exchanges[: -_KEEP_EXCHANGES * 4]
        return exchange

    def _hide(self, text: str) -> str:
        for name, value in self.secrets.items():
            if value:
                text = text.replace(value, f"${name}")
        return text


recorder = Recorder()


def _excerpt(body: bytes | None) -> str:
    if not body:
        return ""
    text = body[:_BODY_EXCERPT].decode("utf-8", "replace")
    return text + ("…" if len(body) > _BODY_EXCERPT else "")


def _sh(text: str, secrets: Mapping[str, str]) -> str:
    """`text` as one POSIX shell word; the secrets' values as "$NAME" expansions."""
    pieces: list[tuple[str, bool]] = [(text, False)]
    for name, value in secrets.items():
        if not value:
            continue
        split: list[tuple[str, bool]] = []
        for piece, is_var in pieces:
            if is_var or value not in piece:
                split.append((piece, is_var))
                continue
            for i, part in enumerate(piece.split(value)):
                if i:
                    split.append((name, True))
                split.append((part, False))
        pieces = split
    words = [f'"${{{p}}}"' if is_var else shlex.quote(p) for p, is_var in pieces if is_var or p]
    return "".join(words) or "''"


def curl_command(request: Request, base: str, secrets: Mapping[str, str] | None = None) -> str:
    """A curl command that sends `request` to `base` again, quoted for a POSIX shell."""
    secrets = secrets or {}
    body = request.body or b""
    # curl sends GET, or POST with a body, by itself; HEAD is -I (with -X HEAD curl would
    # wait for a body that never comes); anything else needs -X.
    words = ["curl", "-I" if request.method == "HEAD" and not body else "-i"]
    implied = "POST" if body else ("HEAD" if request.method == "HEAD" else "GET")
    if request.method != implied:
        words += ["-X", shlex.quote(request.method)]
    words.append(_sh(base + request.path, secrets))
    names = {k.lower() for k in request.headers}
    for name, value in request.headers.items():
        words += ["-H", _sh(f"{name}: {value}", secrets)]
    if body:
        if "content-type" not in names:
            # curl would add a form Content-Type of its own; the test sent none.
            words += ["-H", shlex.quote("Content-Type:")]
        text = body[:_CURL_BODY_LIMIT].decode("utf-8", "replace")
        words += ["--data-raw", _sh(text, secrets)]
    return " ".join(words)


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
            raise CheckFailed(
                f"{self.request.describe()}: se esperaba una respuesta JSON (Content-Type: "
                f"application/json) y llegó Content-Type {self.content_type or '(ninguno)'!r} "
                f"con el cuerpo {_es(self.preview())}",
                "content-type",
                **self._where(),
                expected="application/json",
                got=self.content_type,
                body=self.preview(),
            )
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(
                f"{self.request.describe()}: el cuerpo no es JSON válido: {self.preview()}",
                "json-invalid",
                **self._where(),
                body=self.preview(),
            ) from None

    def _where(self) -> dict[str, Any]:
        return {"method": self.request.method, "path": self.request.path}

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
            raise CheckFailed(
                f"{self.request.describe()}: se esperaba el estado {wanted} y llegó "
                f"{self.status} con el cuerpo {_es(self.preview())}",
                "status",
                **self._where(),
                expected=list(expected),
                got=self.status,
                body=self.preview(),
            )
        return self

    def expect_header(self, name: str, expected: str | None = None) -> str:
        """The header's value; it must be there (and equal `expected`, when given)."""
        value = self.header(name)
        if value is None or (expected is not None and value != expected):
            wanted = f"{name}: {expected}" if expected is not None else f"la cabecera {name}"
            got = f"{name}: {value}" if value is not None else "ninguna"
            raise CheckFailed(
                f"{self.request.describe()}: se esperaba {wanted} y llegó {got}",
                "header",
                **self._where(),
                name=name,
                expected=expected,
                got=value,
            )
        return value

    def expect_field(self, field_name: str, expected: Any = _MISSING) -> Any:
        """A field of the JSON body (an object); it must be there (and equal `expected`)."""
        data = self.json()
        present = isinstance(data, dict) and field_name in data
        got = data.get(field_name) if present else None
        if not present or (expected is not _MISSING and got != expected):
            shown = json.dumps(expected, ensure_ascii=False) if expected is not _MISSING else None
            raise CheckFailed(
                f"{self.request.describe()}: se esperaba el campo {field_name!r}"
                + (f" con el valor {shown}" if shown is not None else "")
                + f" y llegó el cuerpo {_es(self.preview())}",
                "json-field",
                **self._where(),
                field=field_name,
                expected=shown,
                got=json.dumps(got, ensure_ascii=False) if present else None,
                body=self.preview(),
            )
        return got

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
        base = f"http://{self.host}:{self.port}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=sent_headers)
            answer = conn.getresponse()
            payload = answer.read()
        except TimeoutError:
            recorder.record(request, base, None)
            seconds = timeout or self.timeout
            raise NoAnswer(
                f"{request.describe()}: sin respuesta en {seconds:g} s",
                "no-answer",
                method=method,
                path=path,
                reason="timeout",
                seconds=seconds,
            ) from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            recorder.record(request, base, None)
            raise NoAnswer(
                f"{request.describe()}: el servidor no respondió ({exc.__class__.__name__}: "
                f"{exc}). ¿Se cayó? Mira su salida abajo.",
                "no-answer",
                method=method,
                path=path,
                reason=exc.__class__.__name__,
            ) from None
        finally:
            conn.close()
        response = Response(
            request=request,
            status=answer.status,
            headers={k.lower(): v for k, v in answer.getheaders()},
            body=payload,
            elapsed=time.monotonic() - started,
        )
        recorder.record(request, base, response)
        return response

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = _MISSING, **kwargs: Any) -> Response:
        return self.request("POST", path, json_body=json, **kwargs)

    def put(self, path: str, json: Any = _MISSING, **kwargs: Any) -> Response:
        return self.request("PUT", path, json_body=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)
