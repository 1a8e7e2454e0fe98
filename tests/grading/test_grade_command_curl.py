"""`manage.py grade SLUG PATH --json`: a failed HTTP test carries the exchange behind it,
and its curl command, pasted into a shell while the student's server runs, sends the
same request (the server answers it as it answered the grader)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.production.stack import free_port, wait_until

from .conftest import END_TO_END, REPO

pytestmark = [
    pytest.mark.django_db,
    *END_TO_END,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]
WRONG = REPO / "exercises" / "rest-api" / "wrong" / "sin-404-json"


def test_a_failed_tests_curl_sends_the_same_request_to_the_students_server(
    course, tmp_path: Path
) -> None:
    out = io.StringIO()
    call_command("grade", "rest-api", str(WRONG), "--json", stdout=out)
    results = json.loads(out.getvalue())
    assert results["version"] == 2 and results["status"] == "failed"
    failed = [t for t in results["tests"] if t["status"] == "failed" and t.get("exchanges")]
    assert failed
    exchange = failed[0]["exchanges"][-1]
    request, response = exchange["request"], exchange["response"]
    assert request["method"] and request["path"].startswith("/api/")
    assert response["status"] == 404
    assert exchange["curl"].startswith("curl -i ") and "http://127.0.0.1:3000/" in exchange["curl"]
    assert failed[0]["check"]["code"] == "content-type"
    assert all(t["name_en"] for t in results["tests"])  # the suite names its tests in English

    # The student's server, run as they would run it (port 3000 may be taken here: the
    # same command against another port).
    port = free_port()
    server = subprocess.Popen(
        ["node", "server.js"],
        cwd=WRONG,
        env={**os.environ, "PORT": str(port), "NODE_PATH": str(REPO / "runtime" / "node_modules")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _listening(port), 15, "the student's server")
        curl = exchange["curl"].replace("http://127.0.0.1:3000", f"http://127.0.0.1:{port}")
        replay = subprocess.run(
            ["sh", "-c", curl + " --silent --show-error --max-time 5"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    finally:
        server.kill()
        server.wait(5)
    assert replay.returncode == 0, replay.stderr
    status_line = replay.stdout.splitlines()[0]
    assert f" {response['status']} " in status_line + " "
    assert response["body"].strip() in replay.stdout


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
