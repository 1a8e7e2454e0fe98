"""A hidden test runs after every visible one, whatever order the suite defines them in:
a server keeps state between tests, so a program could otherwise repeat a hidden test's
input in a visible test's response, which students read (docs/exercises.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SUITE = '''
import pytest
from pathlib import Path

LOG = Path(__file__).with_name("order.log")

def _ran(name):
    with LOG.open("a") as f:
        f.write(name + "\\n")

def test_visible_first():
    """visible 1"""
    _ran("visible 1")

@pytest.mark.hidden
def test_hidden_input():
    """hidden"""
    _ran("hidden")

def test_visible_after():
    """visible 2"""
    _ran("visible 2")
'''


def test_a_hidden_test_defined_first_runs_and_is_numbered_after_the_visible_ones(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    read, write = os.pipe()
    env = {**os.environ, "TALLER_EVENTS_FD": str(write)}
    env.pop("TALLER_CONTROL_SOCKET", None)  # no programs to start
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "taller_grader.sdk.plugin",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_suite.py",
        ],
        cwd=tmp_path,
        env=env,
        pass_fds=(write,),
        capture_output=True,
        text=True,
        timeout=60,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        events = [json.loads(line) for line in pipe]
    assert done.returncode == 0, done.stdout + done.stderr

    assert (tmp_path / "order.log").read_text().split("\n")[:3] == [
        "visible 1",
        "visible 2",
        "hidden",
    ]
    collected = next(e for e in events if e["event"] == "collected")
    assert [(t["number"], t["name"], t["visibility"]) for t in collected["tests"]] == [
        ("1", "visible 1", "visible"),
        ("2", "visible 2", "visible"),
        ("3", "hidden", "hidden"),
    ]
