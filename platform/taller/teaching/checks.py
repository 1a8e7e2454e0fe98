"""The validation table in words, for the grader's author (the site and the commands).

A row (taller_grader.checks.CheckRow, stored as a dict on the version) carries codes;
what they mean and what to do about them is said here, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from taller.submissions.models import Submission


def kind_label(kind: str) -> str:
    return {
        "reference": _("referencia"),
        "alternative": _("alternativa"),
        "wrong": _("incorrecta"),
        "starter": _("código de inicio"),
    }.get(kind, kind)


def status_label(status: str) -> str:
    try:
        return str(Submission.Status(status).label)
    except ValueError:
        return status


def _verdict(row: Mapping[str, Any]) -> str:
    # Rows stored before verdicts existed: worked out from what they kept.
    verdict = row.get("verdict")
    if verdict:
        return str(verdict)
    if row.get("ok"):
        return "ok"
    if row.get("kind") == "wrong":
        return "wrong-full-marks" if row.get("status") == "passed" else "wrong-not-graded"
    return "lost-points" if row.get("status") == "failed" else "not-graded"


def row_message(row: Mapping[str, Any]) -> str:
    """What the row means for the author, and what to do next."""
    verdict, kind = _verdict(row), row.get("kind")
    status = status_label(str(row.get("status", "")))
    if verdict == "ok":
        if kind == "starter":
            return _("No saca todos los puntos, como se esperaba.")
        if kind == "wrong":
            return _("Pierde puntos, como se esperaba.")
        return _("Todos los puntos, como se esperaba.")
    if verdict == "suite-broken":
        return _(
            "La suite del corrector no funciona tal como está escrita: corrige el archivo "
            "y la línea que señala el informe de pytest y vuelve a subirla."
        )
    if verdict == "wrong-full-marks":
        if kind == "starter":
            return _(
                "El código de inicio saca todos los puntos: un estudiante aprobaría sin "
                "escribir nada. Añade pruebas que fallen con el starter."
            )
        return _(
            "Esta solución incorrecta saca todos los puntos: ninguna prueba detecta su "
            "error. Añade una prueba que falle con ella, o muévela a alternatives/ si en "
            "realidad es correcta."
        )
    if verdict == "wrong-not-graded":
        return _(
            "Esta solución no llegó a calificarse (%(status)s), así que no demuestra que "
            "el corrector detecte su error: %(note)s"
        ) % {"status": status, "note": row.get("note", "")}
    if verdict == "lost-points":
        return _(
            "Una solución correcta perdió puntos en: %(tests)s. Revisa esas pruebas (o "
            "la solución): deben aceptar cualquier solución correcta."
        ) % {"tests": "; ".join(row.get("failed_tests") or ()) or "—"}
    return _("Una solución correcta no llegó a calificarse (%(status)s): %(note)s") % {
        "status": status,
        "note": row.get("note", ""),
    }


def row_lines(row: Mapping[str, Any]) -> list[str]:
    """One row of the table for a terminal: the line, then what it means, then pytest."""
    mark = "✓" if row.get("ok") else "✗"
    points = f"{float(row.get('score', 0)):g}/{float(row.get('max_score', 0)):g}"
    lines = [
        f"{row.get('exercise', ''):<15} {kind_label(str(row.get('kind'))):<16} "
        f"{str(row.get('name', ''))[:26]:<26} {status_label(str(row.get('status'))):<15} "
        f"{points:>11} {float(row.get('seconds', 0)):>6.2f}s  {mark}"
    ]
    indent = " " * 4
    if row.get("ok"):
        if row.get("kind") in ("wrong", "starter") and row.get("failed_tests"):
            lines.append(
                indent
                + _("pierde puntos en:")
                + " "
                + "; ".join(row.get("failed_tests") or ())[:300]
            )
        return lines
    lines.append(indent + row_message(row))
    for test in row.get("tests") or ():
        if test.get("status") != "passed" and row.get("kind") in ("reference", "alternative"):
            lines.append(f"{indent}  ✗ {test.get('name')}")
            output = str(test.get("output") or "").splitlines()
            lines += [f"{indent}      {line}" for line in output[:6]]
    report = str(row.get("report") or "")
    if report:
        lines.append(indent + _("Informe de pytest:"))
        lines += [indent + "  " + line for line in report.splitlines()]
    return lines
