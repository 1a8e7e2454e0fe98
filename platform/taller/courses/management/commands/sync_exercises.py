from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from taller.courses.content import ContentError
from taller.courses.services import sync_course


class Command(BaseCommand):
    help = "Load the course from exercises/ and graders/ into the database (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exercises", default=str(settings.TALLER_EXERCISES_DIR))
        parser.add_argument("--graders", default=str(settings.TALLER_GRADERS_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = sync_course(Path(options["exercises"]), Path(options["graders"]))
        except ContentError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS(f"Course synced: {report.summary()}"))
