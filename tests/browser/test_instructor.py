"""An instructor's work in a real browser: a new grader version uploaded, validated by a
real worker in the sandbox, published; the students' page then shows it. Then a
student's attempt (made in the browser, graded by the worker) is regraded with the new
version for the whole cohort, watched to the end, and read back in the dashboard and
the gradebook, which is exported as CSV.

Each step is a function taking the flow's state."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from taller.accounts.roles import Role
from taller.courses.models import Exercise
from taller.submissions.models import Submission
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, UserFactory

from . import a11y
from .conftest import Shots, sign_in

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SLUG = "rest-api"
NOTE = "Nota de la versión 2: los identificadores nunca se reutilizan."
VALIDATION_TIMEOUT = 120_000
GRADING_TIMEOUT = 90_000
WRONG = (REPO / "exercises" / SLUG / "wrong" / "sin-404-json" / "server.js").read_text()


def grader_bundle(slug: str, wrong: str, statement_note: str) -> bytes:
    """exercises/<slug>/ and graders/<slug>/ as an instructor would zip them, trimmed to
    the reference and one wrong solution so validation stays quick."""
    exercise, grader = REPO / "exercises" / slug, REPO / "graders" / slug
    files = [
        p
        for p in exercise.rglob("*")
        if p.is_file() and p.relative_to(exercise).parts[0] not in {"wrong", "alternatives"}
    ]
    files += [p for p in (exercise / "wrong" / wrong).rglob("*") if p.is_file()]
    files += [p for p in grader.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            data = path.read_bytes()
            if path.name == "statement.es.md":
                data += f"\n\n{statement_note}\n".encode()
            archive.writestr(str(path.relative_to(REPO)), data)
    return buffer.getvalue()


@dataclass
class Flow:
    """What the steps share: the signed-in page, the screenshots, the people, the stack
    (to start more workers), a scratch directory for uploads and downloads."""

    page: Any
    shots: Shots
    tmp_path: Path
    stack: Any
    teacher: Any
    student: Any
    cohort: Any
    new_page: Any = None


def upload_a_grader_version(flow: Flow) -> None:
    page = flow.page
    page.get_by_role("link", name="Docencia", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ejercicios y correctores")
    a11y.assert_basics(page)
    a11y.assert_focus_visible(page)
    flow.shots(page, "teaching")
    bundle = flow.tmp_path / f"{SLUG}.zip"
    bundle.write_bytes(grader_bundle(SLUG, "sin-404-json", NOTE))
    page.get_by_label("Paquete del ejercicio (.zip)").set_input_files(bundle)
    flow.shots(page, "bundle chosen")
    page.get_by_role("button", name="Subir y validar").click()
    expect(page).to_have_url(re.compile(f"/docencia/{SLUG}/$"))
    expect(page.get_by_role("status")).to_contain_text("Versión 2 de rest-api recibida")
    flow.shots(page, "version uploaded")


def see_it_validated(flow: Flow) -> None:
    page = flow.page
    heading = page.get_by_role("heading", name=re.compile("Versión 2"))
    version = page.locator("section.card", has=heading)
    # The page refreshes itself while validating; the worker fills in the table.
    table = version.get_by_role("region", name="Validación").locator("table")
    expect(table).to_be_visible(timeout=VALIDATION_TIMEOUT)
    rows = table.locator("tbody > tr")
    expect(rows).to_have_count(3)  # the reference, the wrong solution, the starter
    reference = rows.filter(has_text="solution")
    expect(reference).to_contain_text("referencia")
    expect(reference).to_contain_text("aprobado")
    expect(reference).to_contain_text("29 / 29")
    expect(reference).to_contain_text("como se esperaba")
    wrong = rows.filter(has_text="sin-404-json")
    expect(wrong).to_contain_text("incorrecta")
    expect(wrong).to_contain_text("con fallos")
    expect(wrong).to_contain_text("como se esperaba")
    expect(wrong).to_contain_text("pierde puntos en:")
    expect(version.locator("h2 .status")).to_have_text("válida")
    expect(version).to_contain_text("Subida")
    expect(version).to_contain_text("marta")
    a11y.assert_basics(page)
    flow.shots(page, "version validated")


def publish_it(flow: Flow) -> None:
    page = flow.page
    page.get_by_role("link", name="Publicar esta versión…").click()
    # The confirmation shows what changes against the version in use.
    expect(page.locator("#publicar")).to_contain_text("statement.es.md")
    page.get_by_role("button", name="Confirmar: publicar esta versión").click()
    expect(page.get_by_role("status")).to_contain_text(
        "La versión 2 califica ahora los envíos nuevos."
    )
    current = page.locator("section.card", has=page.locator(".badge", has_text="vigente"))
    expect(current.get_by_role("heading", level=2)).to_contain_text("Versión 2")
    flow.shots(page, "version published")
    exercise = Exercise.objects.select_related("current_version").get(slug=SLUG)
    assert exercise.current_version is not None and exercise.current_version.number == 2
    # What students now read.
    page.goto(f"/ejercicios/{SLUG}/")
    expect(page.locator("article.statement")).to_contain_text(NOTE)
    flow.shots(page, "students see the new statement")


def a_student_attempts_it(flow: Flow) -> None:
    """Lucía, in a browser of her own, submits a solution that forgets the JSON 404."""
    page = flow.new_page()
    sign_in(page, "lucia", PASSWORD)
    page.goto(f"/ejercicios/{SLUG}/")
    code = page.locator("[data-editor] .cm-content").first
    code.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(WRONG)
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#results")).to_have_attribute(
        "data-status", "failed", timeout=GRADING_TIMEOUT
    )
    page.context.close()
    attempt = Submission.objects.get(student=flow.student, regrade_of__isnull=True)
    assert (attempt.score, attempt.max_score) == (28, 29)
    assert attempt.cohort_id == flow.cohort.pk and attempt.grader_version.number == 2


def regrade_the_cohort(flow: Flow) -> None:
    page = flow.page
    page.goto(f"/docencia/cohortes/{flow.cohort.pk}/")
    page.get_by_role("link", name="Recalificar", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recalificar")
    a11y.assert_basics(page)
    version = Exercise.objects.get(slug=SLUG).current_version
    assert version is not None
    page.get_by_label("Ejercicio y versión del corrector").select_option(str(version.pk))
    flow.shots(page, "regrade chosen")
    page.get_by_role("button", name="Recalificar", exact=True).click()
    # The progress page follows the batch by itself until the worker is done.
    done = page.locator("#regrade-done")
    expect(done).to_contain_text("1 de 1 recalificados", timeout=GRADING_TIMEOUT)
    expect(done).to_contain_text("Terminado.")
    row = page.locator("#regrade-rows tr", has_text="lucia")
    expect(row.locator(".old-score")).to_have_text("28 / 29")
    expect(row.locator(".new-score")).to_have_text("28 / 29")
    a11y.assert_basics(page)
    flow.shots(page, "regrade finished")
    regrade = Submission.objects.get(student=flow.student, regrade_of__isnull=False)
    assert regrade.status == "failed" and regrade.score == 28
    # The original attempt keeps its own result beside the regrade.
    assert Submission.objects.filter(student=flow.student).count() == 2


def read_the_dashboard(flow: Flow) -> None:
    page = flow.page
    page.goto(f"/docencia/cohortes/{flow.cohort.pk}/")
    page.get_by_role("link", name="Panel", exact=True).click()
    section = page.locator(f"#ejercicio-{SLUG}")
    expect(section).to_be_visible()
    # One student enrolled, one attempted, none with full marks; the chart is an SVG image.
    expect(section).to_contain_text("Lo intentaron 1 de 1; aprobaron 0.")
    expect(section.get_by_role("img")).to_be_visible()
    expect(section).to_contain_text("Una ruta desconocida responde 404 con error en JSON")
    a11y.assert_basics(page)
    flow.shots(page, "dashboard")


def export_the_gradebook(flow: Flow) -> None:
    page = flow.page
    page.goto(f"/docencia/cohortes/{flow.cohort.pk}/")
    page.get_by_role("link", name="Calificaciones", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Calificaciones")
    row = page.get_by_role("row", name=re.compile("lucia"))
    expect(row).to_contain_text("28")
    a11y.assert_basics(page)
    flow.shots(page, "gradebook")
    page.goto(f"/docencia/cohortes/{flow.cohort.pk}/")
    with page.expect_download() as info:
        page.get_by_role("link", name="Descargar CSV").click()
    download = info.value
    target = flow.tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert [r["usuario"] for r in rows] == ["lucia"]
    scores = {k: v for k, v in rows[0].items() if k.startswith(SLUG)}
    assert "28" in scores.values(), scores


def test_instructor_flow(live: Any, new_page: Any, shots: Shots, tmp_path: Path) -> None:
    teacher = UserFactory(username="marta", role=Role.INSTRUCTOR)
    student = UserFactory(username="lucia")
    cohort = CohortFactory(name="Mañana 2026")
    cohort.instructors.add(teacher)
    EnrollmentFactory(cohort=cohort, student=student)

    page = new_page()
    sign_in(page, "marta", PASSWORD)
    flow = Flow(
        page=page,
        shots=shots,
        tmp_path=tmp_path,
        stack=live,
        teacher=teacher,
        student=student,
        cohort=cohort,
        new_page=new_page,
    )

    upload_a_grader_version(flow)
    see_it_validated(flow)
    publish_it(flow)
    a_student_attempts_it(flow)
    regrade_the_cohort(flow)
    read_the_dashboard(flow)
    export_the_gradebook(flow)
