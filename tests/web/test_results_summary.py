"""A graded run's summary line is said in the reader's language; other outcomes keep the
grader's own words."""

from __future__ import annotations

from django.utils import translation

from taller.web.templatetags.taller import results_summary


def graded(*statuses: str) -> dict[str, object]:
    return {
        "status": "passed" if set(statuses) == {"passed"} else "failed",
        "output": "Fallaron 1 de 2 pruebas: lee abajo qué dice cada una.",
        "tests": [{"number": str(n), "status": s} for n, s in enumerate(statuses, 1)],
    }


def test_a_failed_run_counts_its_failures_in_each_language() -> None:
    with translation.override("es"):
        assert results_summary(graded("passed", "failed")) == (
            "Falló 1 de 2 pruebas: lee abajo qué dice cada una."
        )
        assert results_summary(graded("failed", "failed", "passed")).startswith(
            "Fallaron 2 de 3 pruebas"
        )
    with translation.override("en"):
        assert results_summary(graded("passed", "failed")) == (
            "1 of 2 tests failed: read below what each one says."
        )
        assert results_summary(graded("passed", "passed")) == "All tests passed."


def test_an_error_keeps_the_graders_explanation() -> None:
    results = {"status": "error", "output": "El servidor no arrancó.", "tests": []}
    with translation.override("en"):
        assert results_summary(results) == "El servidor no arrancó."
    assert results_summary(None) == ""
