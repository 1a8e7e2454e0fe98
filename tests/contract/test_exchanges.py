"""The SDK's recorded exchanges: the curl command of each one, run by a real POSIX shell
against a real server, sends the very request the grader sent; the run's secrets never
appear in it (the shell expands `$NAME` instead). The standard checks say what failed
as a code and parameters, too."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from taller_grader.results import Exchange, TestResult
from taller_grader.sdk.http import CheckFailed, HttpClient, NoAnswer, recorder

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

SECRET = "s3cr3t-k3y"
Seen = dict[str, object]


class _Recording(BaseHTTPRequestHandler):
    seen: list[Seen]

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        payload = b'{"ok": true}'
        self.send_response(404 if self.path.startswith("/nada") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[Seen]]]:
    seen: list[Seen] = []
    handler = type("Handler", (_Recording,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    recorder.reset()
    recorder.secrets = {"API_KEY": SECRET}
    try:
        yield httpd.server_address[1], seen
    finally:
        recorder.secrets = {}
        recorder.reset()
        httpd.shutdown()
        httpd.server_close()


def _replay(curl: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", curl + " --silent --show-error --max-time 5"],
        capture_output=True,
        text=True,
        env={**os.environ, "API_KEY": SECRET},
        timeout=20,
        check=False,
    )


NASTY = 'it\'s "quoted" $HOME `id` $(id) \\ ; & | * ? ~ ! #\n second line\ttab ñandú'


@pytest.mark.parametrize(
    "send",
    [
        lambda h: h.post("/api/tareas", json={"titulo": NASTY, "n": 1}),
        lambda h: h.get("/api/tareas", params={"q": "a b&c='d'", "completada": "true"}),
        lambda h: h.put("/api/tareas/7", json={"titulo": "x"}, headers={"X-Api-Key": SECRET}),
        lambda h: h.delete("/api/tareas/7", headers={"Authorization": f"Bearer a.{SECRET}.b"}),
        lambda h: h.request("POST", "/api/eco", data="no content type at all"),
        lambda h: h.request("PATCH", "/api/tareas/7", data=b"{}", headers={"X-Odd": "a'b\"c"}),
    ],
    ids=["json-body", "query", "secret-header", "secret-inside", "no-content-type", "patch"],
)
def test_a_curl_command_sends_the_same_request_again(server, send) -> None:
    port, seen = server
    send(HttpClient(port=port))
    (exchange,) = recorder.take()
    assert SECRET not in exchange.curl
    assert SECRET not in str(exchange.to_dict())

    replayed = _replay(exchange.curl)
    assert replayed.returncode == 0, replayed.stderr
    original, again = seen
    assert again["method"] == original["method"]
    assert again["path"] == original["path"]
    assert again["body"] == original["body"]
    for name, value in original["headers"].items():  # type: ignore[attr-defined]
        if name not in ("user-agent", "accept", "accept-encoding", "host", "content-length"):
            assert again["headers"].get(name) == value, name  # type: ignore[attr-defined]
    if "content-type" not in original["headers"]:  # type: ignore[operator]
        assert "content-type" not in again["headers"]  # type: ignore[operator]


def test_an_exchange_round_trips_through_the_contract(server) -> None:
    port, _ = server
    HttpClient(port=port).post("/nada", json={"a": 1})
    (exchange,) = recorder.take()
    assert exchange.response is not None and exchange.response.status == 404
    assert Exchange.from_dict(exchange.to_dict(), "x") == exchange
    test = TestResult.from_dict(
        {"number": "1", "name": "n", "score": 0, "max_score": 1, "status": "failed",
         "exchanges": [exchange.to_dict()]}
    )  # fmt: skip
    assert test.exchanges == (exchange,)


def test_standard_checks_say_what_failed_as_a_code(server) -> None:
    port, _ = server
    response = HttpClient(port=port).get("/nada")
    with pytest.raises(CheckFailed) as failed:
        response.expect_status(200)
    assert failed.value.check.code == "status"
    assert failed.value.check.params == {
        "method": "GET", "path": "/nada", "expected": [200], "got": 404, "body": '{"ok": true}',
    }  # fmt: skip
    assert "se esperaba el estado 200 y llegó 404" in str(failed.value)
    with pytest.raises(CheckFailed) as header:
        response.expect_header("X-Request-Id")
    assert header.value.check.code == "header"
    assert header.value.check.params["name"] == "X-Request-Id"
    with pytest.raises(CheckFailed) as field:
        response.expect_field("id")
    assert (field.value.check.code, field.value.check.params["field"]) == ("json-field", "id")
    assert HttpClient(port=port).get("/x").expect_field("ok", True) is True


def test_no_answer_is_recorded_with_no_response() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens there once closed
    recorder.reset()
    with pytest.raises(NoAnswer) as failed:
        HttpClient(port=port, timeout=2).get("/api/saludo")
    assert failed.value.check.code == "no-answer"
    (exchange,) = recorder.take()
    assert exchange.response is None and exchange.curl.startswith("curl -i ")
