"""A student solves an exercise in a real browser: the statement in both languages, the
CodeMirror editor driven by the keyboard, results arriving live over the WebSocket from a
real worker and sandbox, a wrong attempt explained, a fixed one passing, the history."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from taller.submissions.models import Submission
from tests.factories import PASSWORD, UserFactory

from . import a11y
from .conftest import Shots, sign_in

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SLUG = "rest-api"
SOLUTION = (REPO / "exercises" / SLUG / "solution" / "server.js").read_text()
# The reference without its JSON 404 for unknown routes: the student forgets it.
WRONG = (REPO / "exercises" / SLUG / "wrong" / "sin-404-json" / "server.js").read_text()
COMMENT = "// Mi API de tareas"
FIX = [
    "app.use((req, res) => {",
    '  res.status(404).json({ error: "Ruta no encontrada." });',
    "});",
]
GRADING_TIMEOUT = 90_000

# Records, from inside the page, every state the live results panel goes through, so the
# test sees the tests arriving one by one even if it looks only at the end.
WATCH_RESULTS = """() => {
  window.__seen = [];
  const panel = document.getElementById("results");
  const record = () => {
    const label = panel.querySelector(".progress-label");
    window.__seen.push({
      progress: label ? label.textContent.trim() : null,
      items: panel.querySelectorAll(".test-item").length,
      status: panel.dataset.status || null,
    });
  };
  new MutationObserver(record).observe(panel, {childList: true, subtree: true});
}"""


def editor(page: Any) -> Any:
    # The editor lives in an open shadow root; Playwright's CSS locators pierce it.
    return page.locator("[data-editor] .cm-content").first


def editor_text(page: Any) -> str:
    return str(page.evaluate("() => window.TallerEditor.getFiles()['server.js']"))


def wait_for_verdict(page: Any) -> None:
    expect(page.locator("#results")).to_have_attribute(
        "data-status",
        re.compile(r"^(passed|failed|error|timeout|rejected|internal-error)$"),
        timeout=GRADING_TIMEOUT,
    )


def test_student_flow(live: Any, new_page: Any, shots: Shots) -> None:
    UserFactory(username="lucia")
    page = new_page()
    # What reaches the page over WebSockets, by URL: the results must come this way.
    frames: dict[str, list[dict[str, Any]]] = {}

    def on_websocket(ws: Any) -> None:
        received = frames.setdefault(ws.url, [])
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", on_websocket)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Sign in.
    page.goto("/")
    expect(page).to_have_url(re.compile("/entrar/"))
    a11y.assert_basics(page)
    a11y.assert_focus_visible(page)
    shots(page, "sign in")
    sign_in(page, "lucia", PASSWORD)
    shots(page, "signed in")

    # The course, then the exercise.
    page.get_by_role("link", name="Curso", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Integración de Node.js en el backend"
    )
    a11y.assert_basics(page)
    a11y.assert_focus_visible(page)
    shots(page, "course")
    page.get_by_role("link", name="Una API REST de tareas con Express").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Una API REST de tareas con Express")
    statement = page.locator("article.statement")
    expect(statement).to_have_attribute("lang", "es")
    expect(statement).to_contain_text("Node.js se usa muchísimo")
    expect(editor(page)).to_be_visible()
    a11y.assert_basics(page)
    a11y.assert_focus_visible(page)
    shots(page, "statement in spanish")

    # The language switcher: the same page, in English.
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("A REST API for tasks with Express")
    expect(statement).to_have_attribute("lang", "en")
    expect(statement).to_contain_text("Node.js is widely used")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shots(page, "statement in english")

    # A first, wrong solution, typed into CodeMirror: the bulk pasted as one input (as a
    # student pasting), a comment typed key by key on top.
    code = editor(page)
    code.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(WRONG)
    page.keyboard.press("Control+Home")
    page.keyboard.type(COMMENT)
    page.keyboard.press("Enter")
    assert editor_text(page) == f"{COMMENT}\n{WRONG}"
    expect(page.get_by_role("tab", name=re.compile("server.js"))).to_have_class(
        re.compile("is-modified")
    )
    shots(page, "wrong solution typed", full_page=False, at=page.locator("[data-editor]"))

    # Submitted with the button; the tests arrive one by one, the page never reloads.
    page.evaluate("() => { window.__sameDocument = true; }")
    page.evaluate(WATCH_RESULTS)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#results-title")).to_have_text("Result of submission #1")
    page.wait_for_function(
        """() => document.querySelector("#results .test-item")
              || /^(passed|failed|error|timeout|rejected|internal-error)$/.test(
                   document.getElementById("results").dataset.status || "")""",
        timeout=GRADING_TIMEOUT,
    )
    panel = page.locator("#results")
    expect(page.locator(".submit-error")).to_be_hidden()
    assert panel.locator(".test-item").count(), f"no test ran: {panel.inner_text()}"
    shots(page, "tests arriving", full_page=False, at=page.locator("#results"))
    wait_for_verdict(page)
    assert page.evaluate("() => window.__sameDocument") is True, "the page reloaded"
    seen = page.evaluate("() => window.__seen")
    progress = [s["progress"] for s in seen if s["progress"]]
    counts = sorted({int(p.split("/")[0]) for p in progress})
    total = int(progress[-1].split("/")[1])
    assert len([c for c in counts if 0 < c < total]) >= 2, f"not live: {progress}"
    items = [s["items"] for s in seen]
    assert len(set(items)) >= 3 and items == sorted(items), f"the list did not grow: {items}"
    (first_run,) = [events for url, events in frames.items() if "/ws/submissions/" in url]
    kinds = [event["type"] for event in first_run]
    assert kinds.count("test") >= 2 and "finished" in kinds, f"not over the WebSocket: {kinds}"

    results = page.locator("#results")
    expect(results).to_have_attribute("data-status", "failed")
    score = results.locator(".score")
    expect(score).not_to_have_text(re.compile(r"^29 "))
    failed = results.locator(".test-item.failed")
    expect(failed.first).to_be_visible()
    # The explanation of a failed test is open and readable.
    explanation = failed.first.locator("details[open] .test-output")
    expect(explanation).to_be_visible()
    assert explanation.inner_text().strip(), "a failed test without explanation"
    expect(failed.filter(has_text="404")).not_to_have_count(0)
    expect(results.locator(".results-output")).to_have_text(
        "1 of 21 tests failed: read below what each one says."
    )
    # Announced: the tests landed inside the polite live region.
    expect(page.locator("[aria-live=polite] .test-item")).not_to_have_count(0)
    # The history already lists the attempt, without a reload.
    history = page.locator("table.attempts tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("failed")
    expect(page.get_by_text("You have not submitted a solution yet.")).to_be_hidden()
    a11y.assert_basics(page)
    shots(page, "wrong solution graded")

    # The fix, typed key by key at the end of the file (closing brackets and indentation
    # are CodeMirror's own), then submitted with Ctrl+Enter from the editor.
    code.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(FIX[0])
    page.keyboard.press("Enter")
    page.keyboard.type(FIX[1].strip())
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.type(";")
    assert editor_text(page) == f"{COMMENT}\n{WRONG}\n" + "\n".join(FIX)
    shots(page, "fix typed", full_page=False, at=page.locator("[data-editor]"))
    page.keyboard.press("Control+Enter")
    expect(page.locator("#results-title")).to_have_text("Result of submission #2")
    wait_for_verdict(page)
    expect(results).to_have_attribute("data-status", "passed")
    expect(score).to_have_text(re.compile(r"^29 / 29$"))
    expect(results.locator(".test-item.failed")).to_have_count(0)
    expect(results.locator(".results-output")).to_have_text("All tests passed.")
    assert page.evaluate("() => window.__sameDocument") is True, "the page reloaded"
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("29 / 29")
    shots(page, "fixed solution passes")

    # The history of attempts as the server keeps it, and the course page's verdict.
    page.reload()
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("passed")
    expect(history.nth(1)).to_contain_text("failed")
    shots(page, "history")
    page.get_by_role("link", name="Course", exact=True).click()
    item = page.locator(".exercise-item", has_text="A REST API for tasks with Express")
    expect(item.locator(".score")).to_have_text("29 / 29")
    a11y.assert_basics(page)
    shots(page, "course after passing")

    assert not errors, f"JavaScript errors: {errors}"
    statuses = list(Submission.objects.order_by("attempt").values_list("status", flat=True))
    assert statuses == ["failed", "passed"]
