"""`taller-web` (taller/web/launch.py): a web host's Daphne processes on one port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taller.web.launch import STARTUP_SECONDS

from .stack import REPO, Stack, free_port, get_status, wait_until


def _children(launcher: subprocess.Popen[bytes]) -> set[int]:
    path = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children")
    return {int(pid) for pid in path.read_text().split()}


def _healthz(port: int) -> int:
    # A connection the kernel hands to a process being started again waits for it.
    return get_status(port, "/healthz", timeout=30)


@pytest.fixture
def launch(stack: Stack, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / "launch.log").open("ab")
        launcher = subprocess.Popen(
            [sys.executable, "-m", "taller.web.launch", *options],
            cwd=REPO,
            env={**os.environ, **stack.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(launcher)
        return launcher

    yield start
    for launcher in started:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_a_dead_web_process_is_started_again_and_sigterm_stops_them_all(launch) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    launcher = launch("--host", "127.0.0.1", "--port", str(port), "--processes", "2")
    wait_until(lambda: len(_children(launcher)) == 2, 30, "two web processes")
    wait_until(lambda: _healthz(port) == 200, 60, "the site")
    first = _children(launcher)
    time.sleep(STARTUP_SECONDS)  # past starting up: a death now is a crash, not a bad config

    doomed = min(first)
    os.kill(doomed, signal.SIGKILL)
    # Its socket stays open in the launcher: connections the kernel sends there wait for
    # the new process instead of failing.
    assert all(_healthz(port) == 200 for _ in range(20))
    wait_until(lambda: len(_children(launcher) - {doomed}) == 2, 30, "a new web process")
    assert doomed not in _children(launcher)

    survivors = _children(launcher)
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in survivors)


def test_a_web_process_that_cannot_start_stops_the_launcher_with_an_error(launch) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    launcher = launch("--port", str(port), "--processes", "2", "--", "--no-such-option")
    assert launcher.wait(timeout=30) == 1
