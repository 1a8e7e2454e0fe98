from __future__ import annotations

import json

import pytest

from taller_grader.results import (
    ContractError,
    Results,
    RunStatus,
    TestResult,
    TestStatus,
    Visibility,
)

SPEC_EXAMPLE = {
    "exercise": "rest-api",
    "status": "failed",
    "score": 7.5,
    "max_score": 10,
    "execution_time": 0.84,
    "output": "what the student should read first",
    "stdout": "the program's standard output, truncated",
    "stderr": "the program's standard error, truncated",
    "tests": [
        {
            "number": "1",
            "name": "GET /api/saludo answers the greeting",
            "score": 1,
            "max_score": 1,
            "status": "passed",
            "output": "",
            "visibility": "visible",
        }
    ],
}


def _test(number: str, score: float, max_score: float = 1, *, hidden: bool = False) -> TestResult:
    return TestResult(
        number=number,
        name=f"test {number}",
        score=score,
        max_score=max_score,
        status=TestStatus.PASSED if score == max_score else TestStatus.FAILED,
        output="" if score == max_score else "sent GET /x, expected 200, got 404",
        visibility=Visibility.HIDDEN if hidden else Visibility.VISIBLE,
    )


def test_the_spec_example_round_trips_unchanged() -> None:
    results = Results.from_dict(SPEC_EXAMPLE)
    assert results.to_dict() == SPEC_EXAMPLE
    assert json.loads(results.to_json()) == SPEC_EXAMPLE


def test_graded_status_and_score_follow_from_the_tests() -> None:
    all_pass = Results.graded("rest-api", [_test("1", 1), _test("2", 2, 2)], execution_time=0.5)
    assert (all_pass.status, all_pass.score, all_pass.max_score) == (RunStatus.PASSED, 3, 3)
    some_fail = Results.graded("rest-api", [_test("1", 1), _test("2", 0.5, 2)], execution_time=0.5)
    assert (some_fail.status, some_fail.score) == (RunStatus.FAILED, 1.5)


def test_an_error_run_counts_every_test_as_zero() -> None:
    results = Results.ungraded(
        "rest-api", RunStatus.ERROR, "the server never listened on port 3000", tests=[_test("1", 1)]
    )
    assert results.score == 0
    assert results.max_score == 1
    assert all(t.score == 0 for t in results.tests)


def test_students_never_see_a_hidden_tests_inputs_or_output() -> None:
    results = Results.graded(
        "rest-api", [_test("1", 1), _test("2", 0, 1, hidden=True)], execution_time=0.1
    )
    hidden = results.for_student().tests[1]
    assert (hidden.name, hidden.name_en) == ("prueba oculta 2", "hidden test 2")
    assert hidden.output == ""
    assert hidden.score == 0 and hidden.max_score == 1
    # The staff's copy keeps everything.
    assert results.tests[1].output


def test_only_the_platforms_own_failure_costs_no_attempt() -> None:
    assert not RunStatus.INTERNAL_ERROR.costs_attempt
    assert all(s.costs_attempt for s in RunStatus if s is not RunStatus.INTERNAL_ERROR)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"status": "kind-of-passed"}, "status must be one of"),
        ({"score": "7"}, "score must be a finite number"),
        ({"score": float("nan")}, "score must be a finite number"),
        ({"tests": {}}, "tests must be a list"),
        ({"exercise": None}, "exercise must be a string"),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(patch: dict, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        Results.from_dict({**SPEC_EXAMPLE, **patch})


def test_a_test_cannot_score_more_than_its_maximum() -> None:
    with pytest.raises(ContractError, match="outside"):
        _test("1", 2, 1)


def test_a_version_1_document_still_loads_and_round_trips() -> None:
    old = {**SPEC_EXAMPLE, "tests": [*SPEC_EXAMPLE["tests"]]}
    results = Results.from_dict(old)
    assert results.version == 1 and "version" not in results.to_dict()
    assert results.tests[0].exchanges == () and results.tests[0].stdout == ""


def test_a_hidden_tests_own_lines_never_reach_a_student() -> None:
    hidden = TestResult.from_dict(
        {"number": "2", "name": "tarea-x", "score": 0, "max_score": 1, "status": "failed",
         "output": "POST /x con secreto", "visibility": "hidden", "name_en": "hidden one",
         "check": {"code": "status", "params": {"method": "POST", "path": "/x"}},
         "exchanges": [{"request": {"method": "POST", "path": "/x", "headers": {},
                                    "body": "secreto"}, "response": None, "curl": "curl x"}],
         "stdout": "secreto\n", "stderr": "secreto\n"}
    )  # fmt: skip
    visible = _test("1", 1)
    results = Results.graded("rest-api", [visible, hidden], execution_time=0.1, stdout="listo\n")
    assert results.version == 2
    shown = results.for_student()
    assert "secreto" not in shown.to_json() and "tarea-x" not in shown.to_json()
    assert shown.stdout == "listo\n"  # version 2: the run's own lines are no test's
    assert shown.tests[1].to_dict() == {
        "number": "2", "name": "prueba oculta 2", "name_en": "hidden test 2", "score": 0,
        "max_score": 1, "status": "failed", "output": "", "visibility": "hidden",
    }  # fmt: skip
    assert Results.from_json(results.to_json()) == results
    # Version 1: the run's streams held every test's lines, so with a hidden test a
    # student gets neither.
    old = Results.from_dict({**results.to_dict(), "version": 1, "stdout": "secreto\n"})
    assert old.for_student().stdout == "" and old.for_student().stderr == ""
    no_hidden = Results.from_dict({**SPEC_EXAMPLE})
    assert no_hidden.for_student().stdout == SPEC_EXAMPLE["stdout"]


def test_why_a_run_was_not_graded_is_a_code_that_round_trips() -> None:
    failed = Results.platform_failed("rest-api", tests=[_test("1", 1)])
    data = failed.to_dict()
    assert data["reason"] == {"code": "platform-failed", "params": {}}
    assert data["status"] == "internal-error" and data["tests"][0]["score"] == 0
    # Readers that know no codes still read why, in Spanish.
    assert "No es culpa tuya" in data["output"]
    assert Results.from_dict(json.loads(failed.to_json())) == failed
    assert Results.from_dict(data).for_student().reason == failed.reason


def test_a_document_from_before_reasons_reads_and_writes_back_the_same() -> None:
    old = {**SPEC_EXAMPLE, "version": 2, "status": "internal-error",
           "output": "La plataforma de corrección falló (disco lleno)"}  # fmt: skip
    results = Results.from_dict(old)
    assert results.reason is None
    assert results.to_dict() == old


def test_a_reason_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ContractError, match="reason"):
        Results.from_dict({**SPEC_EXAMPLE, "reason": "platform-failed"})
