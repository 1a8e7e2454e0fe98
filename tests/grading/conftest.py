from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from taller.grading import push
from taller.grading import runner as grading_runner

from .fake_runner import FakeRunner

REPO = Path(__file__).resolve().parents[2]


def _sandbox_available() -> str | None:
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed"
    if not (REPO / "runtime" / "node_modules").is_dir():
        return "runtime/node_modules is missing (make install)"
    return None


requires_sandbox = pytest.mark.skipif(
    _sandbox_available() is not None, reason=_sandbox_available() or ""
)
# Grades for real: the sandbox, Node and the grader suite (root, bubblewrap, the runtime's
# node_modules). `-m "not end_to_end"` leaves the tests that run anywhere in seconds.
END_TO_END = [pytest.mark.end_to_end, requires_sandbox]


def end_to_end(test: Callable[..., Any]) -> Callable[..., Any]:
    for mark in END_TO_END:
        test = mark(test)
    return test


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> FakeRunner:
    """Runs graded by a scripted runner instead of the sandbox (fake_runner.py): the
    recorded run of rest-api's solution unless the test scripts another."""
    fake = FakeRunner()
    seam: grading_runner.Grade = fake  # the real runner's signature (mypy checks it)
    monkeypatch.setattr(grading_runner, "grade_run", seam)
    return fake


@pytest.fixture(params=["scripted", pytest.param("real", marks=END_TO_END)])
def runner(request: pytest.FixtureRequest) -> FakeRunner | None:
    """A test of the state machine run both ways: scripted, and through the real sandbox
    where there is one (None: the real runner)."""
    if request.param == "real":
        return None
    return request.getfixturevalue("fake_runner")


@pytest.fixture
def solution(repo: Path) -> Callable[[str], dict[str, str]]:
    def read(variant: str = "solution") -> dict[str, str]:
        folder = repo / "exercises" / "rest-api" / variant
        return {
            p.relative_to(folder).as_posix(): p.read_text()
            for p in folder.rglob("*")
            if p.is_file()
        }

    return read


@pytest.fixture
def events() -> Iterator[Any]:
    """Subscribe to submissions' groups on the channel layer; read what was pushed."""
    layer = get_channel_layer()
    channels: dict[int, str] = {}

    def subscribe(submission_id: int) -> None:
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(push.group_name(submission_id), channel)
        channels[submission_id] = channel

    def received(submission_id: int) -> list[dict[str, Any]]:
        out = []
        channel = channels[submission_id]

        async def drain() -> None:
            import asyncio

            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.05)
                except TimeoutError:
                    return
                out.append(message["payload"])

        async_to_sync(drain)()
        return out

    received.subscribe = subscribe  # type: ignore[attr-defined]
    yield received
