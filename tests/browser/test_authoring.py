"""An instructor's authoring loop in a real browser, against the production stack: a
scaffolded exercise uploaded with a broken suite shows pytest's report with its line;
fixed, it validates and is published; a newer version is published, then rolled back
after a confirmation that shows the diff. A real worker validates every version."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from taller.accounts.roles import Role
from taller.courses.bundles import zip_folder
from taller.courses.models import Exercise
from tests.factories import PASSWORD, UserFactory

from . import a11y
from .conftest import Shots, sign_in

pytestmark = pytest.mark.browser

SLUG = "salud"
VALIDATION_TIMEOUT = 120_000


def upload(page: Any, root: Path, name: str) -> None:
    bundle = root.parent / name
    bundle.write_bytes(zip_folder(root))
    page.goto("/docencia/")
    page.get_by_label("Paquete del ejercicio (.zip)").set_input_files(bundle)
    page.get_by_role("button", name="Subir y validar").click()
    expect(page).to_have_url(re.compile(f"/docencia/{SLUG}/$"))


def version_card(page: Any, number: int) -> Any:
    heading = page.get_by_role("heading", name=re.compile(f"^Versión {number}\\b"))
    return page.locator("section.card", has=heading)


def test_instructor_authoring_loop(live: Any, new_page: Any, shots: Shots, tmp_path: Path) -> None:
    UserFactory(username="marta", role=Role.INSTRUCTOR)
    root = tmp_path / "curso"
    call_command(
        "new_exercise",
        SLUG,
        section=3,
        exercises=str(root / "exercises"),
        graders=str(root / "graders"),
    )
    suite = root / "graders" / SLUG / f"test_{SLUG}.py"
    good_suite = suite.read_text()
    # A slip while writing the suite: a colon missing on line 12.
    lines = good_suite.splitlines(keepends=True)
    broken_line = next(i for i, line in enumerate(lines) if line.startswith("def test_"))
    lines[broken_line] = lines[broken_line].rstrip().removesuffix(":") + "\n"
    suite.write_text("".join(lines))

    page = new_page()
    sign_in(page, "marta", PASSWORD)

    # 1. Uploaded broken: the table shows pytest's report, with the file and the line.
    upload(page, root, "v1.zip")
    v1 = version_card(page, 1)
    expect(v1.locator("h2 .status")).to_have_text("inválida", timeout=VALIDATION_TIMEOUT)
    report = v1.locator("pre.suite-report").first
    expect(report).to_contain_text(f'graders/{SLUG}/test_{SLUG}.py", line {broken_line + 1}')
    expect(report).to_contain_text("SyntaxError")
    expect(v1).to_contain_text("La suite del corrector no funciona tal como está escrita")
    expect(v1).not_to_contain_text("No es culpa tuya")
    a11y.assert_basics(page)
    shots(page, "broken suite reported")

    # 2. Fixed and uploaded again: valid, each row opens to what a student would read.
    suite.write_text(good_suite)
    upload(page, root, "v2.zip")
    v2 = version_card(page, 2)
    expect(v2.locator("h2 .status")).to_have_text("válida", timeout=VALIDATION_TIMEOUT)
    rows = v2.locator("tbody > tr")
    expect(rows).to_have_count(3)
    starter = rows.filter(has_text="código de inicio")
    expect(starter).to_contain_text("No saca todos los puntos, como se esperaba.")
    wrong = rows.filter(has_text="texto-plano")
    wrong.locator("summary").click()
    expect(wrong.locator("ol.test-list")).to_contain_text("GET /api/salud responde 200")
    shots(page, "fixed and valid")

    # 3. Published after the confirmation page.
    v2.get_by_role("link", name="Publicar esta versión…").click()
    expect(page.locator("#publicar")).to_contain_text("todavía no tiene versión vigente")
    page.get_by_role("button", name="Confirmar: publicar esta versión").click()
    expect(page.get_by_role("status")).to_contain_text("La versión 2 califica ahora")

    # 4. A third version, published; then the second is published again (rollback).
    statement = root / "exercises" / SLUG / "statement.es.md"
    statement.write_text(statement.read_text() + "\nUna aclaración de la versión 3.\n")
    upload(page, root, "v3.zip")
    v3 = version_card(page, 3)
    expect(v3.locator("h2 .status")).to_have_text("válida", timeout=VALIDATION_TIMEOUT)
    v3.get_by_role("link", name="Publicar esta versión…").click()
    page.get_by_role("button", name="Confirmar: publicar esta versión").click()
    expect(page.get_by_role("status")).to_contain_text("La versión 3 califica ahora")

    version_card(page, 2).get_by_role("link", name="Volver a publicar esta versión…").click()
    confirm = page.locator("#publicar")
    expect(confirm).to_contain_text(f"exercises/{SLUG}/statement.es.md")
    expect(confirm).to_contain_text("-Una aclaración de la versión 3.")
    a11y.assert_basics(page)
    shots(page, "rollback confirmation")
    page.get_by_role("button", name="Confirmar: volver a publicar la versión 2").click()
    expect(page.get_by_role("status")).to_contain_text("La versión 2 califica ahora")
    current = Exercise.objects.select_related("current_version").get(slug=SLUG)
    assert current.current_version is not None and current.current_version.number == 2
    shots(page, "rolled back")

    # 5. The editor starts from the newest version (3) and says it is not the one in use.
    page.get_by_role("link", name=re.compile("Editar en el sitio")).click()
    expect(page.locator("main")).to_contain_text("Se parte de la versión 3")
    page.get_by_text("Manifiesto", exact=True).click()
    expect(page.get_by_label("manifest.toml")).to_have_value(re.compile(f'slug = "{SLUG}"'))
    a11y.assert_basics(page)
    shots(page, "editor")
