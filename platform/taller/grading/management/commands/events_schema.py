"""`python manage.py events_schema [--file PATH]`: the JSON Schema of the live events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from taller.grading.events import json_schema

# From the repository's root, as `make schema` runs it.
COMMITTED = "docs/events.schema.json"


def schema_text() -> str:
    """The schema as committed: indented, keys in the models' order, one final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = (
        "Write the JSON Schema of the WebSocket's live events, generated from "
        "taller/grading/events.py, to docs/events.schema.json (or --file; '-' prints it). "
        "The page's script and the `taller` client are tested against the committed file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=COMMITTED, help="where to write it")

    def handle(self, *args: Any, **options: Any) -> None:
        text = schema_text()
        if options["file"] == "-":
            self.stdout.write(text, ending="")
            return
        Path(options["file"]).write_text(text, encoding="utf-8")
