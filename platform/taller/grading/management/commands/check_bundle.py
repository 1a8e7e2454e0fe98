"""`python manage.py check_bundle PATH`: the site's validation of an upload, before it."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from taller.courses.bundles import BundleError, load_bundle, zip_folder
from taller.grading.management.commands._checking import (
    add_lang_argument,
    check_content,
    header,
    summary,
)


class Command(BaseCommand):
    help = (
        "Check an exercise exactly as the site does when it is uploaded: read PATH as the "
        "upload reads a bundle, then grade its reference and alternatives (full marks "
        "expected), its wrong solutions and its starter (must lose points) with its own "
        "grader suite. Never reads the database. Exit 0 if the site would accept and "
        "validate it, 1 if a check failed, 2 if the upload would be refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path",
            help="a bundle (.zip), a folder holding exercises/<slug>/ and graders/<slug>/, "
            "or one exercise's folder (holding manifest.toml)",
        )
        parser.add_argument(
            "--graders",
            help="for an exercise's folder: the folder holding its suite as <slug>/ "
            "(default: graders/ beside the exercise's exercises/ folder)",
        )
        add_lang_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["lang"]):
            self._handle(Path(options["path"]), options.get("graders"))

    def _handle(self, path: Path, graders: str | None) -> None:
        try:
            if path.is_dir():
                data = zip_folder(path, Path(graders) if graders else None)
            elif path.is_file():
                data = path.read_bytes()
            else:
                raise BundleError(_("%(p)s: no existe") % {"p": path})
            content = load_bundle(io.BytesIO(data))
        except BundleError as exc:
            self.stderr.write("check_bundle: " + _("la subida se rechazaría: %(e)s") % {"e": exc})
            sys.exit(2)
        self.stdout.write(
            _("%(slug)s: el paquete se aceptaría (contenido %(hash)s); se valida como en el sitio.")
            % {"slug": content.manifest.slug, "hash": content.content_hash[:12]}
        )
        header(self)
        if not summary(self, check_content(self, content)):
            sys.exit(1)
