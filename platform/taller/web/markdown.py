"""Statements are Markdown written by instructors: rendered, highlighted, then sanitized.

Sanitizing after rendering means even a careless (or compromised) statement cannot put
script into a student's page.
"""

from __future__ import annotations

from functools import lru_cache

import markdown
import nh3

_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "del",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "th": {"align"},
    "td": {"align"},
}


def without_title(source: str) -> str:
    """A statement's own `# Title` line; the page already shows the exercise's title."""
    first, _, rest = source.lstrip().partition("\n")
    return rest if first.startswith("# ") else source


@lru_cache(maxsize=256)
def render_markdown(source: str) -> str:
    html = markdown.markdown(
        source,
        extensions=["fenced_code", "tables", "codehilite", "sane_lists"],
        extension_configs={"codehilite": {"css_class": "codehilite", "guess_lang": False}},
        output_format="html",
    )
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
