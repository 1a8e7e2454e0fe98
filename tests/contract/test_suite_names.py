"""Every grader test has a name in both of the course's languages: an English-speaking
student reads the English one (docs/results.md, `name_en`)."""

from __future__ import annotations

import ast
from pathlib import Path

GRADERS = Path(__file__).resolve().parents[2] / "graders"


def test_every_course_test_names_itself_in_spanish_and_in_english() -> None:
    missing = []
    suites = sorted(p for p in GRADERS.glob("*/test_*.py") if p.parent.name != "taller_grader")
    assert len(suites) >= 10
    for path in suites:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                lines = [line.strip() for line in (ast.get_docstring(node) or "").splitlines()]
                if not lines or not lines[0] or not any(x.startswith("en: ") for x in lines[1:]):
                    missing.append(f"{path.relative_to(GRADERS)}::{node.name}")
    assert missing == []
