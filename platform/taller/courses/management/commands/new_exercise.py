"""`python manage.py new_exercise SLUG --section N`: a new exercise that already checks.

Writes exercises/<slug>/ (manifest, statements, starter, solution, one wrong solution)
and graders/<slug>/ (a two-test suite) for a tiny HTTP exercise. `check_bundle` accepts
it as written: the reference gets full marks, the wrong solution and the starter lose
points. The instructor replaces each part, checking again after each change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

MANIFEST = """\
slug = "{slug}"
section = {section}          # a section number of exercises/course.toml
order = 1

[title]
es = "{slug}: título en español"
en = "{slug}: title in English"

[run]
entry = ["server.js"]        # the editor's first tab
time_limit_seconds = 30      # the whole run, suite included
startup_seconds = 10         # how long the server may take to accept connections
memory_limit_mb = 256
services = []                # any of "postgres", "mongo", "rabbitmq"
"""

STATEMENT_ES = """\
# {slug}

Escribe un servidor HTTP que escuche en el puerto `process.env.PORT` y responda
`GET /api/salud` con el estado 200 y el JSON `{{"estado": "ok"}}`.
"""

STATEMENT_EN = """\
# {slug}

Write an HTTP server that listens on port `process.env.PORT` and answers
`GET /api/salud` with status 200 and the JSON `{{"estado": "ok"}}`.
"""

SERVER = """\
const http = require("node:http");

const server = http.createServer((req, res) => {{
{body}
}});

server.listen(process.env.PORT || 3000);
"""

SOLUTION_BODY = """\
  if (req.method === "GET" && req.url === "/api/salud") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ estado: "ok" }));
    return;
  }
  res.writeHead(404, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ error: "no encontrado" }));"""

STARTER_BODY = """\
  // TODO: GET /api/salud (ver el enunciado).
  res.writeHead(404, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ error: "no encontrado" }));"""

WRONG_BODY = """\
  // Error típico: el estado va como texto plano, no como JSON.
  if (req.method === "GET" && req.url === "/api/salud") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok");
    return;
  }
  res.writeHead(404);
  res.end();"""

SUITE = '''\
"""Grader suite for `{slug}`. Each test's docstring is the name a student reads;
an assertion's message is what they are told when it fails."""

from __future__ import annotations

import pytest

from taller_grader.sdk.http import HttpClient


@pytest.mark.points(1)
def test_responde_200(http: HttpClient) -> None:
    """GET /api/salud responde 200"""
    http.get("/api/salud").expect_status(200)


@pytest.mark.points(2)
@pytest.mark.hidden
def test_responde_el_estado_en_json(http: HttpClient) -> None:
    """GET /api/salud responde el estado en JSON"""
    respuesta = http.get("/api/salud")
    cuerpo = respuesta.expect_json(200)
    assert cuerpo == {{"estado": "ok"}}, (
        f'{{respuesta.describe()}}: se esperaba {{{{"estado": "ok"}}}}'
    )
'''


def scaffold_files(slug: str, section: int) -> dict[str, str]:
    """The new exercise's files by their path in a bundle (exercises/..., graders/...)."""
    base = f"exercises/{slug}"
    return {
        f"{base}/manifest.toml": MANIFEST.format(slug=slug, section=section),
        f"{base}/statement.es.md": STATEMENT_ES.format(slug=slug),
        f"{base}/statement.en.md": STATEMENT_EN.format(slug=slug),
        f"{base}/starter/server.js": SERVER.format(body=STARTER_BODY),
        f"{base}/solution/server.js": SERVER.format(body=SOLUTION_BODY),
        f"{base}/wrong/texto-plano/server.js": SERVER.format(body=WRONG_BODY),
        f"graders/{slug}/test_{slug.replace('-', '_')}.py": SUITE.format(slug=slug),
    }


class Command(BaseCommand):
    help = (
        "Create exercises/SLUG/ and graders/SLUG/ for a new exercise: a small HTTP "
        "exercise with its statement (es, en), starter, solution, one wrong solution and "
        "a two-test suite, which `check_bundle exercises/SLUG` accepts as written. "
        "Replace each part with yours and check again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="lower case letters, digits and dashes: salud")
        parser.add_argument(
            "--section", type=int, required=True, help="its section's number (course.toml)"
        )
        parser.add_argument("--exercises", default=str(settings.TALLER_EXERCISES_DIR))
        parser.add_argument("--graders", default=str(settings.TALLER_GRADERS_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        slug, section = options["slug"], options["section"]
        if not SLUG.match(slug) or len(slug) > 50:
            raise CommandError(
                f"{slug!r}: a slug is lower case letters, digits and single dashes (salud, "
                "api-rest), at most 50 characters"
            )
        if not 1 <= section <= 99:
            raise CommandError(f"--section {section}: a section number is 1 to 99")
        exercise = Path(options["exercises"]) / slug
        suite = Path(options["graders"]) / slug
        for folder in (exercise, suite):
            if folder.exists():
                raise CommandError(f"{folder} already exists; nothing was written")
        roots = {"exercises": exercise.parent, "graders": suite.parent}
        files = {
            roots[name.split("/", 1)[0]] / name.split("/", 1)[1]: text
            for name, text in scaffold_files(slug, section).items()
        }
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"  {path}")
        self.stdout.write(
            self.style.SUCCESS(f"{slug} created.")
            + f" Check it as the site will: python manage.py check_bundle {exercise}"
        )
