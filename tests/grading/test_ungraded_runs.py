"""A run the runner does not grade says why as a code (docs/results.md, `reason`). When
the platform fails, the student's document says so and no more: what failed (paths,
hosts, the exception's text) is in the logs, with the run's id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from taller_grader.results import RunStatus
from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, grade

REPO = Path(__file__).resolve().parents[2]


def test_a_broken_host_shows_no_path_to_the_student(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = tmp_path / "sin-runtime-secreto"
    runtime.mkdir()
    spec = ExerciseSpec(
        slug="ending",
        programs=(ProgramSpec(name="main", command=("node", "-e", "0"), port=None),),
        suite_files={"test_one.py": "def test_one():\n    assert True\n"},
    )
    with caplog.at_level("ERROR", logger="taller_grader.runner"):
        results = grade(spec, {"main.js": b""}, RunnerConfig(runtime_dir=runtime))
    assert results.status is RunStatus.INTERNAL_ERROR
    assert results.reason is not None and results.reason.code == "platform-failed"
    assert "sin-runtime-secreto" not in results.to_json()
    assert "No es culpa tuya" in results.output
    # The staff's side: the cause, and which run it was.
    assert "the platform failed" in caplog.text and "sin-runtime-secreto" in caplog.text


def test_a_file_in_the_graders_folder_is_refused_with_its_rule(tmp_path: Path) -> None:
    from django.utils import translation

    from taller.web.templatetags.taller import results_summary

    spec = ExerciseSpec(
        slug="ending",
        programs=(ProgramSpec(name="main", command=("node", "-e", "0"), port=None),),
        suite_files={"test_one.py": "def test_one():\n    assert True\n"},
    )
    files = {"main.js": b"", ".taller/x.js": b""}
    results = grade(spec, files, RunnerConfig(runtime_dir=tmp_path))
    assert results.status is RunStatus.REJECTED
    assert results.reason is not None
    assert (results.reason.code, dict(results.reason.params)) == (
        "reserved",
        {"name": ".taller/x.js", "folder": ".taller"},
    )
    assert results.output == ".taller/x.js: la carpeta .taller/ está reservada para el corrector"
    with translation.override("en"):
        assert results_summary(results.to_dict()) == (
            ".taller/x.js: the folder .taller/ is reserved for the grader"
        )


def test_a_tests_row_position_is_the_same_in_every_process() -> None:
    """A test number that is not an integer gets the same row in every worker (hash()
    of a string differs per process)."""
    code = (
        "import django; django.setup()\n"
        "from taller.grading.services import _position\n"
        "from taller_grader.results import TestResult, TestStatus\n"
        "print(_position(TestResult('1.b', 'x', 0, 1, TestStatus.FAILED)))\n"
    )
    positions = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(positions) == 1 and 0 <= int(positions.pop()) < 30000
