"""`python manage.py check_graders [SLUG ...]`: prove each grader against its solutions."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from taller.courses.content import ContentError, load_course
from taller.grading.runner import runner_config
from taller_grader.checks import CheckRow, check_solutions
from taller_grader.runner import spec_from_manifest


class Command(BaseCommand):
    help = (
        "Grade every exercise's reference and alternative solutions (full marks expected) "
        "and its wrong solutions (must lose points); print a table; exit 1 on any surprise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="exercises to check (default: all)")
        parser.add_argument("--exercises", default=str(settings.TALLER_EXERCISES_DIR))
        parser.add_argument("--graders", default=str(settings.TALLER_GRADERS_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            course = load_course(Path(options["exercises"]), Path(options["graders"]))
        except ContentError as exc:
            self.stderr.write(f"check_graders: {exc}")
            sys.exit(2)
        wanted = set(options["slugs"])
        known = {e.manifest.slug for e in course.exercises}
        if wanted - known:
            self.stderr.write(
                f"check_graders: unknown exercise(s): {', '.join(sorted(wanted - known))}"
            )
            sys.exit(2)
        header = ("exercise", "kind", "solution", "status", "points", "time")
        self.stdout.write("{:<15} {:<12} {:<26} {:<15} {:>11} {:>7}  ok".format(*header))
        rows: list[CheckRow] = []
        for content in course.exercises:
            if wanted and content.manifest.slug not in wanted:
                continue
            spec = spec_from_manifest(
                content.manifest.slug, content.manifest.model_dump(mode="json"), content.suite
            )
            rows += check_solutions(
                spec,
                runner_config(),
                solution=content.solution,
                alternatives=content.alternatives,
                wrong=content.wrong,
                on_row=self._print,
            )
        bad = [r for r in rows if not r.ok]
        self.stdout.write("")
        for slug in dict.fromkeys(r.exercise for r in rows):
            ref = [r.seconds for r in rows if r.exercise == slug and r.kind == "reference"]
            self.stdout.write(f"{slug}: reference graded in {statistics.median(ref):.2f} s")
        if bad:
            self.stdout.write(self.style.ERROR(f"{len(bad)} of {len(rows)} checks failed"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"all {len(rows)} checks passed"))

    def _print(self, row: CheckRow) -> None:
        mark = "✓" if row.ok else "✗"
        points = f"{row.score:g}/{row.max_score:g}"
        self.stdout.write(
            f"{row.exercise:<15} {row.kind:<12} {row.name[:26]:<26} {row.status:<15} "
            f"{points:>11} {row.seconds:>6.2f}s  {mark}"
        )
        if row.kind == "wrong" and row.ok:
            self.stdout.write(f"{'':<15} loses points on: {'; '.join(row.failed_tests)[:300]}")
        if not row.ok:
            self.stdout.write(f"{'':<15} {row.note[:300]}")
            if row.kind != "wrong":
                self.stdout.write(f"{'':<15} failed: {'; '.join(row.failed_tests)[:300]}")
