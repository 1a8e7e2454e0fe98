"""A scripted runner: the sandbox, the student's programs and the grader suite, played back.

It has the real runner's interface (`taller_grader.runner.grade`'s signature,
`taller.grading.runner.Grade`, which mypy checks in the `fake_runner` fixture) and calls
back as the real one does: the suite's tests collected, each test as it finishes, the
verdict before the teardown (whatever that callback raises is raised). What it plays are
results documents recorded from real runs (runs/, whose README says how), or an exception.
The state machine's tests (fencing, takeovers, retries, requeues, dropped connections)
use it so they run anywhere in milliseconds; the tests marked end_to_end grade for real,
and one of them checks that the recording still is what the real runner returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from taller_grader.results import Results, TestResult, TestStatus
from taller_grader.runner import (
    Collected,
    ExerciseSpec,
    OnEvents,
    OnSuiteReport,
    OnVerdict,
    RunnerConfig,
    TestFinished,
)

RUNS = Path(__file__).resolve().parent / "runs"


def recorded(name: str = "rest-api-solution") -> Results:
    """A results document recorded from a real run."""
    return Results.from_json((RUNS / f"{name}.json").read_text(encoding="utf-8"))


def as_collected(test: TestResult) -> TestResult:
    """A test as the runner announces it before it runs (runner._Run._event)."""
    return TestResult(
        number=test.number,
        name=test.name,
        name_en=test.name_en,
        score=0.0,
        max_score=test.max_score,
        status=TestStatus.FAILED,
        visibility=test.visibility,
    )


@dataclass
class FakeRunner:
    """Plays `script` one outcome per run (the last one again once it runs out): a results
    document, or an exception the runner raises (the platform's own failure)."""

    script: list[Results | BaseException] = field(default_factory=lambda: [recorded()])
    # The files of each run, in order: how many runs there were, and of what.
    runs: list[Mapping[str, bytes]] = field(default_factory=list)

    def plays(self, *outcomes: Results | BaseException) -> None:
        self.script = list(outcomes)

    def __call__(
        self,
        spec: ExerciseSpec,
        files: Mapping[str, bytes],
        config: RunnerConfig,
        on_events: OnEvents | None = None,
        *,
        on_suite_report: OnSuiteReport | None = None,
        on_verdict: OnVerdict | None = None,
    ) -> Results:
        outcome = self.script[min(len(self.runs), len(self.script) - 1)]
        self.runs.append(dict(files))
        if isinstance(outcome, BaseException):
            raise outcome
        if on_events is not None:
            # One call per suite event, as the real runner makes while its callback keeps
            # up: the collection, then each of the document's tests as it finishes.
            if outcome.tests:
                on_events([Collected(tuple(as_collected(t) for t in outcome.tests))])
            for test in outcome.tests:
                on_events([TestFinished(test)])
        if on_verdict is not None:
            on_verdict(outcome)
        return outcome
