"""An instructor's work in a real browser: a new grader version uploaded, validated by a
real worker in the sandbox, published; the students' page then shows it.

Each step is a function taking the flow's state, so further steps (a cohort regrade, the
dashboard, the gradebook export) slot into `test_instructor_flow` one line each."""

from __future__ import annotations

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
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, UserFactory

from . import a11y
from .conftest import Shots, sign_in

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SLUG = "rest-api"
NOTE = "Nota de la versión 2: los identificadores nunca se reutilizan."
VALIDATION_TIMEOUT = 120_000


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
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
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
    page.get_by_role("button", name="Publicar esta versión").click()
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
    )

    upload_a_grader_version(flow)
    see_it_validated(flow)
    publish_it(flow)
