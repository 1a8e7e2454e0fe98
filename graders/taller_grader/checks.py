"""Is a grader right? The reference and every alternative solution must get full marks;
every known-wrong solution must lose points. Used by `manage.py check_graders`, in CI,
and before an instructor's new grader version is published."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from taller_grader.results import Results, RunStatus
from taller_grader.runner import ExerciseSpec, RunnerConfig, grade

Kind = Literal["reference", "alternative", "wrong"]
Files = Mapping[str, str]


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


def _row(exercise: str, kind: Kind, name: str, results: Results, seconds: float) -> CheckRow:
    failed = tuple(t.name for t in results.tests if not t.passed)
    if kind == "wrong":
        # A wrong solution must be graded and lose points; an internal error proves nothing.
        ok = results.status in (RunStatus.FAILED, RunStatus.ERROR, RunStatus.TIMEOUT) and (
            results.score < results.max_score
        )
    else:
        ok = results.status is RunStatus.PASSED and results.score == results.max_score
    note = "" if ok else results.output
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
        note=note,
    )


def check_solutions(
    spec: ExerciseSpec,
    config: RunnerConfig,
    *,
    solution: Files,
    alternatives: Mapping[str, Files],
    wrong: Mapping[str, Files],
    on_row: Callable[[CheckRow], None] | None = None,
) -> list[CheckRow]:
    rows: list[CheckRow] = []
    plan: list[tuple[Kind, str, Files]] = [("reference", "solution", solution)]
    plan += [("alternative", name, files) for name, files in sorted(alternatives.items())]
    plan += [("wrong", name, files) for name, files in sorted(wrong.items())]
    for kind, name, files in plan:
        started = time.monotonic()
        results = grade(spec, {p: t.encode() for p, t in files.items()}, config)
        row = _row(spec.slug, kind, name, results, time.monotonic() - started)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
