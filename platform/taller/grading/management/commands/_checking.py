"""What check_graders and check_bundle share: grading an exercise's solutions, printed."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from taller.courses.content import ExerciseContent
from taller.grading.runner import runner_config
from taller.teaching.checks import row_lines
from taller_grader.checks import CheckRow, check_solutions
from taller_grader.runner import spec_from_run


def add_lang_argument(parser: Any) -> None:
    parser.add_argument(
        "--lang",
        choices=["es", "en"],
        default="es",
        help="the language of the table's messages (default: es)",
    )


def header(command: BaseCommand) -> None:
    titles = (_("ejercicio"), _("tipo"), _("solución"), _("estado"), _("puntos"), _("tiempo"))
    command.stdout.write("{:<15} {:<16} {:<26} {:<15} {:>11} {:>7}  ok".format(*titles))


def check_content(command: BaseCommand, content: ExerciseContent) -> list[CheckRow]:
    """Grade an exercise's solutions and starter exactly as the site's validation does."""
    spec = spec_from_run(content.manifest.slug, content.manifest.run, content.suite)

    def show(row: CheckRow) -> None:
        for line in row_lines(asdict(row)):
            command.stdout.write(line)

    return check_solutions(
        spec,
        runner_config(),
        solution=content.solution,
        alternatives=content.alternatives,
        wrong=content.wrong,
        starter=content.starter,
        on_row=show,
    )


def summary(command: BaseCommand, rows: list[CheckRow]) -> bool:
    """Print the closing lines; whether every check passed."""
    bad = [r for r in rows if not r.ok]
    command.stdout.write("")
    for slug in dict.fromkeys(r.exercise for r in rows):
        ref = [r.seconds for r in rows if r.exercise == slug and r.kind == "reference"]
        if ref:
            command.stdout.write(
                _("%(slug)s: referencia calificada en %(s).2f s")
                % {"slug": slug, "s": statistics.median(ref)}
            )
    if bad:
        command.stdout.write(
            command.style.ERROR(
                _("%(bad)s de %(n)s comprobaciones fallaron") % {"bad": len(bad), "n": len(rows)}
            )
        )
        return False
    command.stdout.write(
        command.style.SUCCESS(_("las %(n)s comprobaciones pasaron") % {"n": len(rows)})
    )
    return True
