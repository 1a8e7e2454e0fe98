"""The grading contract: one graded run, as described by shared/spec/results.md.

Frozen dataclasses with a closed set of outcomes. This module imports nothing from
Django (or from the rest of Taller), so the runner, the grader SDK, the worker, the web
pages and the REST API all speak the same language without depending on each other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

E = TypeVar("E", bound=StrEnum)


class RunStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    INTERNAL_ERROR = "internal-error"

    @property
    def costs_attempt(self) -> bool:
        # The platform's own failure is never held against the student.
        return self is not RunStatus.INTERNAL_ERROR


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class, despite the name

    PASSED = "passed"
    FAILED = "failed"


class Visibility(StrEnum):
    VISIBLE = "visible"
    HIDDEN = "hidden"


class ContractError(ValueError):
    """A results document (or event) that does not follow the contract."""


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ContractError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ContractError(f"{where} must be a string, got {type(value).__name__}")
    return value


def _enum(kind: type[E], value: Any, where: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ContractError(f"{where} must be one of {allowed}; got {value!r}") from None


def _compact(value: float) -> int | float:
    # 1.0 prints as 1, as in the spec's example; 7.5 stays 7.5.
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, slots=True)
class TestResult:
    __test__ = False

    number: str
    name: str
    score: float
    max_score: float
    status: TestStatus
    output: str = ""
    visibility: Visibility = Visibility.VISIBLE

    def __post_init__(self) -> None:
        if self.max_score < 0:
            raise ContractError(f"test {self.number}: max_score is negative")
        if not 0 <= self.score <= self.max_score:
            raise ContractError(
                f"test {self.number}: score {self.score} is outside 0..{self.max_score}"
            )

    @property
    def passed(self) -> bool:
        return self.status is TestStatus.PASSED

    def for_student(self, position: int) -> TestResult:
        """What a student may see: a hidden test keeps its score, loses its name and output."""
        if self.visibility is Visibility.VISIBLE:
            return self
        return replace(self, name=f"hidden test {position}", output="")

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "score": _compact(self.score),
            "max_score": _compact(self.max_score),
            "status": self.status.value,
            "output": self.output,
            "visibility": self.visibility.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestResult:
        if not isinstance(data, Mapping):
            raise ContractError("a test must be an object")
        where = f"test {data.get('number', '?')}"
        return cls(
            number=_text(data.get("number"), f"{where}: number"),
            name=_text(data.get("name"), f"{where}: name"),
            score=_number(data.get("score"), f"{where}: score"),
            max_score=_number(data.get("max_score"), f"{where}: max_score"),
            status=_enum(TestStatus, data.get("status"), f"{where}: status"),
            output=_text(data.get("output", ""), f"{where}: output"),
            visibility=_enum(Visibility, data.get("visibility", "visible"), f"{where}: visibility"),
        )


@dataclass(frozen=True, slots=True)
class Results:
    exercise: str
    status: RunStatus
    score: float
    max_score: float
    execution_time: float
    output: str = ""
    stdout: str = ""
    stderr: str = ""
    tests: tuple[TestResult, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.tests, tuple):
            object.__setattr__(self, "tests", tuple(self.tests))

    @classmethod
    def graded(
        cls,
        exercise: str,
        tests: Iterable[TestResult],
        *,
        execution_time: float,
        output: str = "",
        stdout: str = "",
        stderr: str = "",
        status: RunStatus | None = None,
    ) -> Results:
        """Results of a run whose tests ran; the status follows from them unless given."""
        tests = tuple(tests)
        if status is None:
            status = (
                RunStatus.PASSED if tests and all(t.passed for t in tests) else RunStatus.FAILED
            )
        return cls(
            exercise=exercise,
            status=status,
            score=round(sum(t.score for t in tests), 4),
            max_score=round(sum(t.max_score for t in tests), 4),
            execution_time=round(execution_time, 3),
            output=output,
            stdout=stdout,
            stderr=stderr,
            tests=tests,
        )

    @classmethod
    def ungraded(
        cls,
        exercise: str,
        status: RunStatus,
        output: str,
        *,
        max_score: float = 0.0,
        execution_time: float = 0.0,
        stdout: str = "",
        stderr: str = "",
        tests: Iterable[TestResult] = (),
    ) -> Results:
        """A run that produced no score: rejected, error, internal-error (every test at 0)."""
        zeroed = tuple(
            replace(t, score=0.0, status=TestStatus.FAILED) if t.score else t for t in tests
        )
        return cls(
            exercise=exercise,
            status=status,
            score=0.0,
            max_score=max_score or round(sum(t.max_score for t in zeroed), 4),
            execution_time=round(execution_time, 3),
            output=output,
            stdout=stdout,
            stderr=stderr,
            tests=zeroed,
        )

    def for_student(self) -> Results:
        return replace(
            self, tests=tuple(t.for_student(i) for i, t in enumerate(self.tests, start=1))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "status": self.status.value,
            "score": _compact(self.score),
            "max_score": _compact(self.max_score),
            "execution_time": self.execution_time,
            "output": self.output,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "tests": [t.to_dict() for t in self.tests],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Results:
        if not isinstance(data, Mapping):
            raise ContractError("a results document must be an object")
        tests = data.get("tests", [])
        if not isinstance(tests, list):
            raise ContractError("tests must be a list")
        return cls(
            exercise=_text(data.get("exercise"), "exercise"),
            status=_enum(RunStatus, data.get("status"), "status"),
            score=_number(data.get("score"), "score"),
            max_score=_number(data.get("max_score"), "max_score"),
            execution_time=_number(data.get("execution_time", 0), "execution_time"),
            output=_text(data.get("output", ""), "output"),
            stdout=_text(data.get("stdout", ""), "stdout"),
            stderr=_text(data.get("stderr", ""), "stderr"),
            tests=tuple(TestResult.from_dict(t) for t in tests),
        )

    @classmethod
    def from_json(cls, text: str) -> Results:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(f"not JSON: {exc}") from None
        return cls.from_dict(data)
