"""`python manage.py grade SLUG PATH [--json]`, exactly as docs/results.md says."""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from taller.courses.bundles import BundleError, load_bundle, zip_folder
from taller.courses.content import ContentError
from taller.grading.runner import grade_files
from taller.grading.selectors import exercise_spec, published_version
from taller_grader.results import Results, TestStatus
from taller_grader.runner import ExerciseSpec, spec_from_run

MAX_FILES = 200


class Command(BaseCommand):
    help = (
        "Grade the files under PATH against exercise SLUG, in the same sandbox as the site. "
        "The grader is the site's published version of SLUG, or the folders on disk "
        "(TALLER_EXERCISES_DIR, TALLER_GRADERS_DIR) for an exercise not in the database; "
        "--bundle grades with a zip or folder instead, as check_bundle reads it. The first "
        "line (stderr with --json) says which grader was used."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path", help="a folder, or one file taken as the entry file")
        parser.add_argument("--json", action="store_true", help="print the results document")
        parser.add_argument(
            "--bundle",
            help="grade with this exercise instead of the site's: a bundle (.zip), a folder "
            "holding exercises/<slug>/ and graders/<slug>/, or the exercise's own folder "
            "(its suite in graders/<slug>/ beside exercises/); never the database's version",
        )

    def run_from_argv(self, argv: list[str]) -> None:
        # argparse's own usage errors exit 2 as well, which is what the contract asks.
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        slug, path = options["slug"], Path(options["path"])
        try:
            if options.get("bundle"):
                spec, entry, source = _bundle_spec(slug, Path(options["bundle"]))
            else:
                spec, entry = exercise_spec(slug, show_hidden=True)
                source = _source_of(slug)
        except LookupError as exc:
            self._usage(
                f"{exc}; to grade with an exercise that is neither on the site nor in "
                "TALLER_EXERCISES_DIR, name its folder or zip with --bundle PATH"
            )
        except (ContentError, BundleError) as exc:
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
            self.stderr.write(f"graded with {source}")
            self.stdout.write(results.to_json(indent=2))
        else:
            self.stdout.write(f"graded with {source}")
            self.stdout.write(_table(results))

    def _usage(self, message: str) -> None:
        self.stderr.write(f"grade: {message}")
        sys.exit(2)


def _bundle_spec(slug: str, bundle: Path) -> tuple[ExerciseSpec, str, str]:
    data = zip_folder(bundle) if bundle.is_dir() else bundle.read_bytes()
    content = load_bundle(io.BytesIO(data))
    if content.manifest.slug != slug:
        raise LookupError(f"{bundle} holds exercise {content.manifest.slug!r}, not {slug!r}")
    spec = replace(spec_from_run(slug, content.manifest.run, content.suite), show_hidden=True)
    files = ", ".join(sorted(content.suite))
    return spec, content.manifest.run.entry[0], f"{bundle} (grader files: {files})"


def _source_of(slug: str) -> str:
    """Where exercise_spec took the grader from, in the words of the line printed."""
    version = published_version(slug)
    if version is not None:
        return (
            f"version {version.number} of {slug}, the site's published one "
            f"(content {version.content_hash[:12]}); --bundle grades with local files"
        )
    return (
        f"{settings.TALLER_EXERCISES_DIR / slug} and {settings.TALLER_GRADERS_DIR / slug} "
        "on disk (not in the database)"
    )


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
