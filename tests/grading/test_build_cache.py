"""An exercise's build cache (ssr's `.next/cache`): made once from the grader's seed app,
copied into each run, never written back. Real sandbox, real runner; the "build" is a
small node script that keeps a log in its cache folder, as a build tool would."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from taller_grader.results import RunStatus
from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, grade
from taller_grader.sandbox.bwrap import default_state_dir

from .conftest import requires_sandbox

REPO = Path(__file__).resolve().parents[2]

# The grader's build script: appends the app's name to the cache's log, then serves the
# log as it found it.
BUILD = """
const fs = require("fs");
const http = require("http");
const app = fs.readFileSync("app.txt", "utf8").trim();
if (app === process.env.FAIL_FOR) process.exit(3);
fs.mkdirSync("cache/deep", { recursive: true });
const seen = fs.existsSync("cache/deep/log") ? fs.readFileSync("cache/deep/log", "utf8") : "";
fs.appendFileSync("cache/deep/log", app + "\\n");
http.createServer((req, res) => res.end(seen)).listen(Number(process.env.PORT));
"""

SUITE = """
def test_the_build_found_the_seeds_cache_and_nothing_else(http):
    assert http.get("/").text == {expected!r}
"""


CONFIG = RunnerConfig(runtime_dir=REPO / "runtime")


@pytest.fixture
def slug() -> Iterator[str]:
    """A slug of the test's own; its seeds are removed after."""
    name = f"cached-{secrets.token_hex(4)}"
    yield name
    store = default_state_dir() / "build-cache"
    for entry in store.glob(f"*{name}-*"):
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _seeds(slug: str) -> list[Path]:
    return list((default_state_dir() / "build-cache").glob(f"{slug}-*"))


def _spec(slug: str, expected: str, fail_for: str = "") -> ExerciseSpec:
    return ExerciseSpec(
        slug=slug,
        programs=(ProgramSpec(name="web", command=("node", ".taller/build.js")),),
        suite_files={"test_cached.py": SUITE.format(expected=expected)},
        inject_files={"build.js": BUILD},
        env={"FAIL_FOR": fail_for},
        build_cache="cache",
        cache_seed={"app.txt": "semilla\n"},
    )


@requires_sandbox
def test_each_run_gets_the_seeds_cache_and_keeps_its_writes_to_itself(slug: str) -> None:
    for student in ("ana", "luis"):
        results = grade(_spec(slug, "semilla\n"), {"app.txt": student.encode()}, CONFIG)
        assert results.status is RunStatus.PASSED, (results.output, results.stdout)

    # One seed, made by the platform's build of the seed app; no run's line in it.
    [seed] = _seeds(slug)
    log = seed / "deep" / "log"
    assert log.read_text() == "semilla\n"
    assert (log.stat().st_uid, log.stat().st_gid) == (0, 0)
    assert os.stat(seed).st_mode & 0o022 == 0


@requires_sandbox
def test_a_submission_with_its_own_cache_folder_builds_with_its_own(slug: str) -> None:
    files = {"app.txt": b"ana", "cache/deep/log": b"mio\n"}
    results = grade(_spec(slug, "mio\n"), files, CONFIG)
    assert results.status is RunStatus.PASSED, (results.output, results.stdout)


@requires_sandbox
def test_a_seed_that_does_not_build_only_costs_the_cache(slug: str) -> None:
    results = grade(_spec(slug, "", fail_for="semilla"), {"app.txt": b"ana"}, CONFIG)
    assert results.status is RunStatus.PASSED, (results.output, results.stdout)
    assert not [p for p in _seeds(slug) if p.is_dir()]
