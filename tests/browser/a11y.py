"""Accessibility in the real browser: axe-core (the engine the field uses, installed with the
frontend's packages) on every page the flows visit, and a keyboard walk checking that focus
is visible, which axe cannot judge."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = {"serious", "critical"}

RUN = """async ([tags, exclude]) => {
  const results = await axe.run({exclude: exclude.map((s) => [s])}, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    // Where, and axe's own words on why (the colours and the ratio, for contrast).
    nodes: v.nodes.slice(0, 5).map((n) => {
      const check = n.any[0] || n.all[0] || n.none[0];
      return n.target.join(" ") + (check ? ": " + check.message : "");
    }),
  }));
}"""


@cache
def _axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"axe-core is not installed at {AXE}: run `make install`")
    return AXE.read_text()


def violations(page: Any, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. Evaluated
    through the browser's devtools protocol, so the site's Content-Security-Policy (only
    its own scripts) does not stop it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source() + "\n;true")
    found: list[dict[str, Any]] = page.evaluate(RUN, [TAGS, list(exclude)])
    return [v for v in found if v["impact"] in FAILING]


def assert_basics(page: Any, exclude: tuple[str, ...] = ()) -> None:
    """No serious or critical axe-core violation; `exclude` names third-party regions."""
    failures = violations(page, exclude)
    assert not failures, f"accessibility violations on {page.url}:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']} ({'; '.join(v['nodes'])})" for v in failures
    )


FOCUS_STYLE = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const after = getComputedStyle(el, "::after");
  // CodeMirror draws its ring on the editor's ::after, above the gutters.
  const editor = el.closest(".cm-focused");
  const ring = editor ? getComputedStyle(editor, "::after") : null;
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 40),
    outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
    shadow: s.boxShadow !== "none",
    after: (after.outlineStyle !== "none" && parseFloat(after.outlineWidth) > 0) ||
      Boolean(ring && ring.borderTopStyle !== "none" && parseFloat(ring.borderTopWidth) > 0),
  };
}"""


def assert_focus_visible(page: Any, stops: int = 8) -> list[str]:
    """Tab through the first `stops` focusable elements; each must show a focus ring."""
    page.locator("body").focus()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen: list[str] = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        page.wait_for_timeout(50)  # CodeMirror marks its focus a tick after the event
        focus = page.evaluate(FOCUS_STYLE)
        if focus is None:
            break
        where = f"<{focus['tag']}> {focus['text']!r}"
        assert focus["outline"] or focus["shadow"] or focus["after"], (
            f"no visible focus on {where} at {page.url}"
        )
        seen.append(where)
    assert seen, f"nothing took the keyboard focus on {page.url}"
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    return seen
