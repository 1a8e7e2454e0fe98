"""A failed run as a student reads it, in a real browser on the production stack: the
course's own snippet (the starter) submitted to rest-api; where most tests fail first,
each failed test's check and exchange; "copy as curl" puts the command on the clipboard;
the live panel reads as a reload does; screenshots in Spanish and in English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory

from . import a11y
from .conftest import Shots, sign_in
from .test_student import GRADING_TIMEOUT, editor, wait_for_verdict

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
STARTER = (REPO / "exercises" / "rest-api" / "starter" / "server.js").read_text()


def test_feedback_flow(live: Any, new_page: Any, shots: Shots) -> None:
    UserFactory(username="tomas")
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "tomas", PASSWORD)
    page.goto("/ejercicios/rest-api/")

    code = editor(page)
    code.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(STARTER)
    page.get_by_role("button", name="Enviar").click()
    wait_for_verdict(page)
    results = page.locator("#results")
    expect(results).to_have_attribute("data-status", "failed", timeout=GRADING_TIMEOUT)

    # Where to start, said once: the starter has no /api/tareas at all.
    expect(results.locator(".start-there")).to_have_text(
        re.compile(r"^\d+ pruebas fallan primero en POST /api/tareas → 404: empieza por ahí\.$")
    )
    failed = results.locator(".test-item.failed").first
    expect(failed.locator(".test-output")).to_contain_text("se esperaba el estado 201 y llegó 404")
    exchange = failed.locator(".exchange").first
    expect(exchange.locator(".exchange-request .exchange-line")).to_have_text("POST /api/tareas")
    expect(exchange.locator(".exchange-response .exchange-line")).to_have_text("HTTP 404 Not Found")
    # Headers collapsed until asked for.
    expect(exchange.locator(".exchange-response details.exchange-headers pre")).to_be_hidden()

    live_text = results.inner_text()

    # Copy as curl: the very command shown lands on the clipboard.
    expect(exchange.get_by_role("button", name="Copiar como curl")).to_be_visible()
    # By its class from here on: its name changes once clicked.
    button = exchange.locator("button.copy-curl")
    curl = button.get_attribute("data-curl") or ""
    assert curl.startswith("curl -i ") and "http://127.0.0.1:3000/api/tareas" in curl
    assert exchange.locator("pre.curl").inner_text().strip() == curl
    button.click()
    expect(button).to_have_text("Copiado")
    assert page.evaluate("() => navigator.clipboard.readText()") == curl

    a11y.assert_basics(page)
    shots(page, "failed run in spanish")
    shots(page, "failed test in spanish", full_page=False, at=failed)

    # A reload renders the same panel the live events built.
    page.reload()
    expect(results).to_have_attribute("data-status", "failed")
    assert results.inner_text() == live_text

    # In English: checks, names and the summary in the reader's language.
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(results.locator(".start-there")).to_have_text(
        re.compile(r"^\d+ tests fail first at POST /api/tareas → 404: start there\.$")
    )
    failed = results.locator(".test-item.failed").first
    expect(failed.locator(".test-output")).to_contain_text("expected status 201, got 404")
    expect(failed.get_by_role("button", name="Copy as curl").first).to_be_visible()
    expect(results.locator(".test-item", has_text="hidden test")).not_to_have_count(0)
    shots(page, "failed run in english")
    shots(page, "failed test in english", full_page=False, at=failed)

    assert not errors, f"JavaScript errors: {errors}"
