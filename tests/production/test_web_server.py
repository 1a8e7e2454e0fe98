"""The web host's server (taller/web/gunicorn_conf.py): gunicorn's processes on one port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import PASSWORD, UserFactory

from .stack import BIN, GUNICORN_CONF, REPO, Browser, Stack, free_port, get_status, wait_until

SOLUTION = {"server.js": (REPO / "exercises/rest-api/solution/server.js").read_text()}


def _workers(stack: Stack) -> set[int]:
    master = stack.processes["web"].pid
    return set(stack.web_pids()) - {master}


def _listening_sockets(port: int) -> int:
    """How many sockets listen on the port (/proc/net/tcp: state 0A)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1 for row in rows if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A"
    )


def _healthz(port: int) -> int:
    # A connection the kernel hands to a process being started again waits for it.
    return get_status(port, "/healthz", timeout=30)


def test_a_dead_web_process_is_started_again_on_its_socket_and_sigterm_stops_them_all(
    stack: Stack,
) -> None:
    stack.start_web(processes=2)
    first = _workers(stack)
    assert len(first) == 2
    # A socket each, held by gunicorn's parent, so that none goes with its process.
    assert _listening_sockets(stack.port) == 2

    doomed = min(first)
    os.kill(doomed, signal.SIGKILL)
    # Its socket stays open in the parent: connections the kernel sends there wait for
    # the new process instead of failing.
    assert all(_healthz(stack.port) == 200 for _ in range(20))
    wait_until(lambda: len(_workers(stack) - {doomed}) == 2, 30, "a new web process")
    assert doomed not in _workers(stack)
    assert _listening_sockets(stack.port) == 2

    survivors = _workers(stack)
    web = stack.processes.pop("web")
    web.send_signal(signal.SIGTERM)
    assert web.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in survivors)
    assert get_status(stack.port, "/healthz") == 0


def test_a_site_that_cannot_start_stops_gunicorn_with_an_error(stack: Stack) -> None:
    port = free_port()
    server = subprocess.run(
        [str(BIN / "gunicorn"), "-c", GUNICORN_CONF, "--bind", f"127.0.0.1:{port}"],
        cwd=REPO,
        env={**os.environ, **stack.env, "SECRET_KEY": "too-short"},
        capture_output=True,
        timeout=60,
    )
    assert server.returncode != 0
    assert b"SECRET_KEY" in server.stdout + server.stderr


def test_a_process_replaced_after_its_requests_closes_its_websockets_and_the_next_serves_them(
    stack: Stack, transactional_db: None
) -> None:
    call_command("sync_exercises", verbosity=0)
    stack.start_web(processes=1, extra_env={"WEB_MAX_REQUESTS": "20"})
    first = _workers(stack)
    UserFactory(username="ana")
    ana = Browser(stack.port)
    ana.sign_in("ana", PASSWORD)
    submitted = ana.submit("rest-api", SOLUTION)  # no worker: it stays queued

    from websockets.exceptions import ConnectionClosed

    with ana.websocket(submitted["ws_path"]) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        deadline = time.monotonic() + 60
        while _workers(stack) & first and time.monotonic() < deadline:
            # Requests until the process leaves (one it took as it was leaving may be
            # closed unanswered, as a browser or a balancer would send again).
            get_status(stack.port, "/healthz", timeout=30)
        assert not _workers(stack) & first, "no process was replaced after its requests"
        # Closed by the process as it left (the page then polls, live.js), not left hanging.
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=30)

    wait_until(lambda: _workers(stack), 30, "the new web process")
    with ana.websocket(submitted["ws_path"]) as ws:
        snapshot = json.loads(ws.recv(timeout=10))
    assert (snapshot["status"], snapshot["queue_position"]) == ("queued", 1)
