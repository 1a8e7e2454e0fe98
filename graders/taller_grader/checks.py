"""Is a grader right? The reference and every alternative solution must get full marks;
every known-wrong solution, and the starter, must lose points. Used by
`manage.py check_graders` and `check_bundle`, in CI, and before an instructor's new
grader version is published."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from taller_grader.results import Results, RunStatus
from taller_grader.runner import ExerciseSpec, RunnerConfig, grade

Kind = Literal["reference", "alternative", "wrong", "starter"]
Files = Mapping[str, str]

# What a row means for the grader's author; the edges (the site, the commands) say it in
# words. "ok" is the only good one.
Verdict = Literal[
    "ok",
    "suite-broken",  # the suite did not run as written: pytest's report says why
    "lost-points",  # a correct solution lost points
    "not-graded",  # a correct solution was not graded (it did not start, timed out...)
    "wrong-full-marks",  # a wrong solution (or the starter) kept every point
    "wrong-not-graded",  # a wrong solution was not graded, which proves nothing
]


@dataclass(frozen=True)
class CheckRow:
    exercise: str
    kind: Kind
    name: str
    status: str
    score: float
    max_score: float
    seconds: float
    ok: bool
    failed_tests: tuple[str, ...] = ()
    note: str = ""
    verdict: Verdict = "ok"
    # pytest's own report of a broken suite (file, line, message), for the author only.
    report: str = ""
    # Each test as a student would read it: number, name, points, status, message.
    tests: tuple[dict[str, object], ...] = ()


def _verdict(kind: Kind, results: Results, report: str) -> Verdict:
    full = results.score == results.max_score and results.max_score > 0
    if kind in ("wrong", "starter"):
        graded = results.status in (RunStatus.FAILED, RunStatus.ERROR, RunStatus.TIMEOUT) or (
            kind == "starter" and results.status is RunStatus.REJECTED
        )
        if graded and not full:
            return "ok"
        if results.status is RunStatus.INTERNAL_ERROR and report:
            return "suite-broken"
        return "wrong-full-marks" if results.status is RunStatus.PASSED else "wrong-not-graded"
    if results.status is RunStatus.PASSED and full:
        return "ok"
    if report:
        return "suite-broken"
    return "lost-points" if results.status is RunStatus.FAILED else "not-graded"


def _row(
    exercise: str, kind: Kind, name: str, results: Results, seconds: float, report: str = ""
) -> CheckRow:
    failed = tuple(t.name for t in results.tests if not t.passed)
    verdict = _verdict(kind, results, report)
    ok = verdict == "ok"
    return CheckRow(
        exercise=exercise,
        kind=kind,
        name=name,
        status=results.status.value,
        score=results.score,
        max_score=results.max_score,
        seconds=round(seconds, 2),
        ok=ok,
        failed_tests=failed,
        note="" if ok else results.output,
        verdict=verdict,
        report=report,
        tests=tuple(
            {
                "number": t.number,
                "name": t.name,
                "score": t.score,
                "max_score": t.max_score,
                "status": t.status.value,
                "output": t.output,
                "visibility": t.visibility.value,
            }
            for t in results.tests
        ),
    )


def check_solutions(
    spec: ExerciseSpec,
    config: RunnerConfig,
    *,
    solution: Files,
    alternatives: Mapping[str, Files],
    wrong: Mapping[str, Files],
    starter: Files | None = None,
    on_row: Callable[[CheckRow], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> list[CheckRow]:
    """Grade each solution in turn; `on_plan` hears how many rows there will be."""
    rows: list[CheckRow] = []
    plan: list[tuple[Kind, str, Files]] = [("reference", "solution", solution)]
    plan += [("alternative", name, files) for name, files in sorted(alternatives.items())]
    plan += [("wrong", name, files) for name, files in sorted(wrong.items())]
    if starter:
        plan.append(("starter", "starter", starter))
    if on_plan is not None:
        on_plan(len(plan))
    for kind, name, files in plan:
        started = time.monotonic()
        reports: list[str] = []
        results = grade(
            spec,
            {p: t.encode() for p, t in files.items()},
            config,
            on_suite_report=reports.append,
        )
        row = _row(spec.slug, kind, name, results, time.monotonic() - started, "\n\n".join(reports))
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
