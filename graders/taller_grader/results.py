"""The grading contract: one graded run, as described by docs/results.md.

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


VERSION = 2


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


def _headers(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ContractError(f"{where} must be an object of strings")
    return dict(value)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ContractError(f"{where} must be a list")
    return value


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContractError(f"version must be a positive integer, got {value!r}")
    return value


def _compact(value: float) -> int | float:
    # 1.0 prints as 1, as in the spec's example; 7.5 stays 7.5.
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What a test sent: the method, the path with its query, the headers the suite set
    and the body (an excerpt, as text)."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body": self.body,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> HttpRequest:
        if not isinstance(data, Mapping):
            raise ContractError(f"{where} must be an object")
        return cls(
            method=_text(data.get("method"), f"{where}.method"),
            path=_text(data.get("path"), f"{where}.path"),
            headers=_headers(data.get("headers", {}), f"{where}.headers"),
            body=_text(data.get("body", ""), f"{where}.body"),
        )


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What came back: status, headers (names lower-cased), body excerpt, seconds taken."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "time": round(self.time, 4),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> HttpResponse:
        if not isinstance(data, Mapping):
            raise ContractError(f"{where} must be an object or null")
        status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, int):
            raise ContractError(f"{where}.status must be an integer")
        return cls(
            status=status,
            headers=_headers(data.get("headers", {}), f"{where}.headers"),
            body=_text(data.get("body", ""), f"{where}.body"),
            time=_number(data.get("time", 0), f"{where}.time"),
        )


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request a test made and its answer (None when nothing answered).

    `curl` reproduces an HTTP request against the student's own server; exchanges over
    other protocols (WebSocket, AMQP, SQL) carry only a `description`.
    """

    request: HttpRequest | None = None
    response: HttpResponse | None = None
    curl: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "request": self.request.to_dict() if self.request else None,
            "response": self.response.to_dict() if self.response else None,
            "curl": self.curl,
        }
        if self.description:
            data["description"] = self.description
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Exchange:
        if not isinstance(data, Mapping):
            raise ContractError(f"{where} must be an object")
        request, response = data.get("request"), data.get("response")
        return cls(
            request=None if request is None else HttpRequest.from_dict(request, f"{where}.request"),
            response=None
            if response is None
            else HttpResponse.from_dict(response, f"{where}.response"),
            curl=_text(data.get("curl", ""), f"{where}.curl"),
            description=_text(data.get("description", ""), f"{where}.description"),
        )


@dataclass(frozen=True, slots=True)
class Check:
    """A message as data: a code and its parameters. A test's standard check that
    failed (`check`), or why a run was not graded (the run's `reason`).

    The edges say it in the reader's language (docs/results.md lists the codes); the
    `output` beside it keeps the same message in Spanish for readers that know no codes.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Check:
        if not isinstance(data, Mapping):
            raise ContractError(f"{where} must be an object or null")
        params = data.get("params", {})
        if not isinstance(params, Mapping):
            raise ContractError(f"{where}.params must be an object")
        try:
            json.dumps(params)
        except (TypeError, ValueError):
            raise ContractError(f"{where}.params must be plain JSON") from None
        return cls(code=_text(data.get("code"), f"{where}.code"), params=dict(params))


# The same shape, for a run: why it was not graded.
Reason = Check

# A run's reasons the platform itself gives (docs/results.md), with the Spanish words
# its `output` carries for readers that know no codes. The exception's own text (paths,
# hosts) goes to the logs, never into a document a student reads.
PLATFORM_FAILED = "platform-failed"
WORKER_LOST = "worker-lost"
REASON_OUTPUT = {
    PLATFORM_FAILED: "La plataforma de corrección falló. No es culpa tuya: la entrega se vuelve "
    "a calificar y no te cuesta un intento.",
    WORKER_LOST: "El proceso de corrección se detuvo dos veces con esta entrega. No es culpa "
    "tuya y no te cuesta un intento; el equipo docente lo ve.",
}


def hidden_name(position: int, language: str = "es") -> str:
    """What a student reads in place of a hidden test's name."""
    return f"hidden test {position}" if language == "en" else f"prueba oculta {position}"


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
    # Version 2 of the contract (docs/results.md): all optional, so older documents load.
    name_en: str = ""
    check: Check | None = None
    exchanges: tuple[Exchange, ...] = ()
    stdout: str = ""  # what the student's programs wrote while this test ran
    stderr: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.exchanges, tuple):
            object.__setattr__(self, "exchanges", tuple(self.exchanges))
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
        """What a student may see: a hidden test keeps its number and score, nothing else."""
        if self.visibility is Visibility.VISIBLE:
            return self
        return TestResult(
            number=self.number,
            name=hidden_name(position),
            name_en=hidden_name(position, "en"),
            score=self.score,
            max_score=self.max_score,
            status=self.status,
            visibility=self.visibility,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "number": self.number,
            "name": self.name,
            "score": _compact(self.score),
            "max_score": _compact(self.max_score),
            "status": self.status.value,
            "output": self.output,
            "visibility": self.visibility.value,
        }
        # Written only when there is something to say: a version 1 test reads the same.
        if self.name_en:
            data["name_en"] = self.name_en
        if self.check is not None:
            data["check"] = self.check.to_dict()
        if self.exchanges:
            data["exchanges"] = [e.to_dict() for e in self.exchanges]
        if self.stdout:
            data["stdout"] = self.stdout
        if self.stderr:
            data["stderr"] = self.stderr
        return data

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
            name_en=_text(data.get("name_en", ""), f"{where}: name_en"),
            check=None
            if data.get("check") is None
            else Check.from_dict(data["check"], f"{where}: check"),
            exchanges=tuple(
                Exchange.from_dict(e, f"{where}: exchanges[{i}]")
                for i, e in enumerate(_list(data.get("exchanges", []), f"{where}: exchanges"))
            ),
            stdout=_text(data.get("stdout", ""), f"{where}: stdout"),
            stderr=_text(data.get("stderr", ""), f"{where}: stderr"),
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
    # 2: `stdout`/`stderr` hold only what was written outside any test; each test holds
    # its own lines. A version 1 document's streams hold everything, hidden tests' too.
    version: int = VERSION
    # Why the run was not graded, as data (absent in older documents and graded runs).
    reason: Reason | None = None

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
        reason: Reason | None = None,
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
            reason=reason,
        )

    @classmethod
    def platform_failed(
        cls,
        exercise: str,
        code: str = PLATFORM_FAILED,
        *,
        execution_time: float = 0.0,
        tests: Iterable[TestResult] = (),
    ) -> Results:
        """An internal error: the platform's fault, said as one of its reasons (never the
        exception's text, which the caller logs)."""
        return cls.ungraded(
            exercise,
            RunStatus.INTERNAL_ERROR,
            REASON_OUTPUT[code],
            execution_time=execution_time,
            tests=tests,
            reason=Reason(code),
        )

    def for_student(self) -> Results:
        """What a student may read: nothing of a hidden test but its number and score.

        A hidden test's own lines are dropped with it. A version 1 document cannot tell
        whose its streams' lines were, so with a hidden test in it they are dropped too.
        """
        tests = tuple(t.for_student(i) for i, t in enumerate(self.tests, start=1))
        streams_unattributed = self.version < 2 and any(
            t.visibility is Visibility.HIDDEN for t in self.tests
        )
        if streams_unattributed:
            return replace(self, tests=tests, stdout="", stderr="")
        return replace(self, tests=tests)

    def to_dict(self) -> dict[str, Any]:
        # A version 1 document is written back as it was read.
        version = {"version": self.version} if self.version != 1 else {}
        # Written only when known: an older document reads the same.
        reason = {"reason": self.reason.to_dict()} if self.reason is not None else {}
        return {
            **version,
            "exercise": self.exercise,
            "status": self.status.value,
            "score": _compact(self.score),
            "max_score": _compact(self.max_score),
            "execution_time": self.execution_time,
            "output": self.output,
            **reason,
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
            version=_version(data.get("version", 1)),
            reason=None
            if data.get("reason") is None
            else Reason.from_dict(data["reason"], "reason"),
        )

    @classmethod
    def from_json(cls, text: str) -> Results:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(f"not JSON: {exc}") from None
        return cls.from_dict(data)
