"""`python manage.py check_graders [SLUG ...]`: prove each grader against its solutions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from taller.courses.content import ContentError, ExerciseContent, load_course, load_exercise
from taller.grading.management.commands._checking import (
    add_lang_argument,
    check_content,
    header,
    summary,
)
from taller_grader.checks import CheckRow


class Command(BaseCommand):
    help = (
        "Grade every exercise's reference and alternative solutions (full marks expected), "
        "its wrong solutions and its starter (must lose points) with its own grader; print "
        "a table; exit 1 on any surprise, 2 if the content cannot be read. Reads the folders "
        "on disk, never the database. To check one exercise as the site's upload would, "
        "see check_bundle."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="exercises to check (default: all)")
        parser.add_argument(
            "--exercises",
            default=str(settings.TALLER_EXERCISES_DIR),
            help="the folder holding one folder per exercise (manifest.toml, statements, "
            "starter/, solution/, alternatives/, wrong/); a course.toml beside them is "
            "checked if present, not required (default: %(default)s)",
        )
        parser.add_argument(
            "--graders",
            default=str(settings.TALLER_GRADERS_DIR),
            help="the folder holding each exercise's pytest suite as <slug>/ "
            "(default: %(default)s)",
        )
        add_lang_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["lang"]):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        exercises_dir, graders_dir = Path(options["exercises"]), Path(options["graders"])
        wanted = set(options["slugs"])
        try:
            exercises = _exercises(exercises_dir, graders_dir, wanted)
        except ContentError as exc:
            self.stderr.write(f"check_graders: {exc}")
            sys.exit(2)
        known = {e.manifest.slug for e in exercises}
        if wanted - known:
            self.stderr.write(
                "check_graders: "
                + _("ejercicio(s) desconocido(s) en %(d)s: %(s)s")
                % {"d": exercises_dir, "s": ", ".join(sorted(wanted - known))}
            )
            sys.exit(2)
        header(self)
        rows: list[CheckRow] = []
        for content in exercises:
            rows += check_content(self, content)
        if not summary(self, rows):
            sys.exit(1)


def _exercises(exercises_dir: Path, graders_dir: Path, wanted: set[str]) -> list[ExerciseContent]:
    if (exercises_dir / "course.toml").is_file():
        course = load_course(exercises_dir, graders_dir)
        return [e for e in course.exercises if not wanted or e.manifest.slug in wanted]
    if not exercises_dir.is_dir():
        raise ContentError(_("%(d)s: no existe la carpeta") % {"d": exercises_dir})
    # Without a course, each exercise on its own (a new one, before it joins a course).
    return [
        load_exercise(folder, graders_dir)
        for folder in sorted(p for p in exercises_dir.iterdir() if (p / "manifest.toml").is_file())
        if not wanted or folder.name in wanted
    ]
