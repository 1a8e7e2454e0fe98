"""Accessibility basics checked in the real browser, from computed styles and the DOM:
every form control has a name, focus is visible, text has enough contrast (WCAG AA)."""

from __future__ import annotations

from typing import Any

# Form controls (also inside open shadow roots, where the editor lives) without an
# accessible name: no <label>, aria-label or aria-labelledby that resolves to text.
UNLABELLED = """() => {
  const found = [];
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const node of roots[i].querySelectorAll("*")) {
      if (node.shadowRoot) roots.push(node.shadowRoot);
    }
  }
  const named = (el, root) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (root.getElementById(id)?.textContent || "").trim())) return true;
    if (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) return true;
    if ((el.getAttribute("title") || "").trim()) return true;
    return false;
  };
  for (const root of roots) {
    const controls = root.querySelectorAll(
      "input:not([type=hidden]), textarea, select, [contenteditable=true], [role=textbox]"
    );
    for (const el of controls) {
      if (el.closest("[aria-hidden=true]")) continue;
      if (!named(el, root)) found.push(el.outerHTML.slice(0, 120));
    }
  }
  return found;
}"""

# Every visible element with its own text, whose colour against the background it sits on
# falls short of WCAG AA: 4.5:1, or 3:1 for large text. Disabled controls are exempt.
LOW_CONTRAST = """() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const ch = [c.r, c.g, c.b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  // The opaque colour behind an element: its ancestors' backgrounds, composed.
  const background = (el) => {
    const layers = [];
    let node = el;
    for (; node && node.nodeType === 1; node = node.parentElement || node.getRootNode().host) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none") return null;  // gradients, images: not judged
      const colour = parse(style.backgroundColor);
      if (colour && colour.a > 0) {
        layers.push(colour);
        if (colour.a >= 1) break;
      }
    }
    let result = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const failures = [];
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const node of roots[i].querySelectorAll("*")) {
      if (node.shadowRoot) roots.push(node.shadowRoot);
    }
  }
  for (const root of roots) {
    for (const el of root.querySelectorAll("body *")) {
      const ownText = Array.from(el.childNodes).some(
        (n) => n.nodeType === 3 && n.textContent.trim()
      );
      if (!ownText || el.closest("[disabled], [aria-hidden=true], .visually-hidden")) continue;
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (!rect.width || !rect.height || style.visibility === "hidden") continue;
      if (rect.width <= 1 && rect.height <= 1) continue;  // visually hidden
      const fg = parse(style.color);
      const bg = background(el);
      if (!fg || !bg) continue;
      let opacity = 1;
      for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
        opacity *= Number(getComputedStyle(n).opacity);
      }
      const shown = over({...fg, a: fg.a * opacity}, bg);
      const [hi, lo] = [lum(shown), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const needed = large ? 3 : 4.5;
      if (ratio < needed) {
        failures.push(
          `${ratio.toFixed(2)} < ${needed}: <${el.tagName.toLowerCase()} class="${el.className}">` +
          ` ${el.textContent.trim().slice(0, 40)}` +
          `  (${style.color} on rgb(${bg.r | 0}, ${bg.g | 0}, ${bg.b | 0}))`
        );
      }
    }
  }
  return failures;
}"""

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


def assert_labelled(page: Any) -> None:
    unlabelled = page.evaluate(UNLABELLED)
    assert not unlabelled, f"form controls without an accessible name on {page.url}: {unlabelled}"


def assert_contrast(page: Any) -> None:
    failures = page.evaluate(LOW_CONTRAST)
    assert not failures, f"text below WCAG AA contrast on {page.url}:\n" + "\n".join(failures)


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


def assert_basics(page: Any) -> None:
    assert_labelled(page)
    assert_contrast(page)
