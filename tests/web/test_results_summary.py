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


def test_a_runs_reason_is_said_in_the_readers_language() -> None:
    failed = {"status": "internal-error", "output": "La plataforma de corrección falló. …",
              "reason": {"code": "platform-failed", "params": {}}, "tests": []}  # fmt: skip
    with translation.override("en"):
        assert results_summary(failed).startswith("The grading platform failed.")
    with translation.override("es"):
        assert results_summary(failed).startswith("La plataforma de corrección falló. No es")
    rejected = {"status": "rejected", "output": "Demasiados archivos: 30 (el máximo es 20).",
                "reason": {"code": "too_many_files", "params": {"count": 30, "max": 20}},
                "tests": []}  # fmt: skip
    with translation.override("en"):
        assert "30" in results_summary(rejected) and "Demasiados" not in results_summary(rejected)
        # A code this site does not know (a newer grader's): the grader's own words.
        unknown = {**failed, "reason": {"code": "nuevo", "params": {}}}
        assert results_summary(unknown) == "La plataforma de corrección falló. …"


def test_the_live_page_has_the_same_words_for_a_runs_reason() -> None:
    from taller.web.feedback import strings

    with translation.override("en"):
        reasons = strings()["reasons"]
    assert reasons["platform-failed"].startswith("The grading platform failed.")
    assert reasons["worker-lost"].startswith("The grading process stopped twice")


def test_the_sites_words_for_the_platforms_reasons_are_the_graders() -> None:
    """One reason, one wording: the Spanish a document's `output` carries is the site's
    translatable text for its code."""
    from taller.web.feedback import REASONS
    from taller_grader.results import REASON_OUTPUT

    with translation.override("es"):
        assert {code: str(REASONS[code]) for code in REASON_OUTPUT} == REASON_OUTPUT
