"""`python manage.py grade SLUG PATH [--json]`, exactly as docs/results.md says."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from taller.courses.content import ContentError
from taller.grading.runner import grade_files
from taller.grading.selectors import exercise_spec
from taller_grader.results import Results, TestStatus

MAX_FILES = 200


class Command(BaseCommand):
    help = "Grade the files under PATH against exercise SLUG, in the same sandbox as the site."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path", help="a folder, or one file taken as the entry file")
        parser.add_argument("--json", action="store_true", help="print the results document")

    def run_from_argv(self, argv: list[str]) -> None:
        # argparse's own usage errors exit 2 as well, which is what the contract asks.
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        slug, path = options["slug"], Path(options["path"])
        try:
            spec, entry = exercise_spec(slug, show_hidden=True)
        except (LookupError, ContentError) as exc:
            self._usage(str(exc))
        if not path.exists():
            self._usage(f"{path}: no such file or folder")
        try:
            files = _read_files(path, entry)
        except ValueError as exc:
            self._usage(str(exc))
        try:
            results = grade_files(spec, files)
        except Exception as exc:
            self.stderr.write(f"grade: the platform failed: {exc}")
            sys.exit(1)
        if options["json"]:
            self.stdout.write(results.to_json(indent=2))
        else:
            self.stdout.write(_table(results))

    def _usage(self, message: str) -> None:
        self.stderr.write(f"grade: {message}")
        sys.exit(2)


def _read_files(path: Path, entry: str) -> dict[str, str]:
    if path.is_file():
        return {entry: path.read_text(encoding="utf-8")}
    files: dict[str, str] = {}
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path)
        if any(part in {"node_modules", ".git", ".next"} for part in rel.parts):
            continue
        if item.is_symlink():
            raise ValueError(f"{item}: links are not graded")
        if item.is_file():
            try:
                files[rel.as_posix()] = item.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{item}: not a UTF-8 text file") from None
        if len(files) > MAX_FILES:
            raise ValueError(f"{path}: more than {MAX_FILES} files")
    if not files:
        raise ValueError(f"{path}: the folder has no files")
    return files


def _table(results: Results) -> str:
    lines = [
        f"{results.exercise}: {results.status.value} — {results.score:g} / "
        f"{results.max_score:g} points in {results.execution_time:.2f} s",
    ]
    if results.output:
        lines.append(results.output)
    if results.tests:
        lines.append("")
        width = max(len(t.number) for t in results.tests)
        for test in results.tests:
            mark = "✓" if test.status is TestStatus.PASSED else "✗"
            hidden = " (hidden)" if test.visibility.value == "hidden" else ""
            lines.append(
                f"  {test.number:>{width}} {mark} {test.score:g}/{test.max_score:g}  "
                f"{test.name}{hidden}"
            )
            for out in test.output.splitlines():
                lines.append(f"  {'':>{width}}     {out}")
    for title, text in (("stdout", results.stdout), ("stderr", results.stderr)):
        if text.strip():
            lines += ["", f"--- {title} ---", text.rstrip()]
    return "\n".join(lines)
