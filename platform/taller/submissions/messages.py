"""What a refused submission or regrade says, in the reader's language.

The services refuse with a code and its parameters (services.SubmissionRefused); the
edges (the pages, the API's exception handler) say it with these words, as
web/feedback.py does for a results document's codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The sandbox's reasons (taller_grader.sandbox.files.MESSAGES, the same templates), in
# the student's language; tests/submissions checks the two stay the same.
FILE_RULE_MESSAGES = {
    "no_name": _("Un archivo no tiene nombre."),
    "control": _("Nombre de archivo no permitido: %(name)s lleva un carácter de control."),
    "backslash": _(
        "Nombre de archivo no permitido: %(name)s lleva «\\»; separa las carpetas con «/»."
    ),
    "absolute": _("Nombre de archivo no permitido: %(name)s es absoluto; usa una ruta relativa."),
    "not_utf8": _("Nombre de archivo no permitido: %(name)s no es UTF-8 válido."),
    "path_too_long": _(
        "Nombre de archivo demasiado largo: %(name)s ocupa %(bytes)s bytes (máximo %(max)s)."
    ),
    "too_deep": _("Demasiadas carpetas anidadas: %(name)s (máximo %(max)s niveles)."),
    "bad_part": _("Nombre de archivo no permitido: %(name)s tiene una parte vacía, «.» o «..»."),
    "part_too_long": _(
        "Nombre de archivo demasiado largo: %(name)s tiene una parte de más de %(max)s bytes."
    ),
    "node_modules": _(
        "No se puede enviar node_modules (%(name)s): los módulos los pone la plataforma."
    ),
    "package_not_json": _("%(name)s no es un JSON válido."),
    "package_not_object": _("%(name)s debe ser un objeto JSON."),
    "package_field": _('%(name)s: "%(field)s" debe ser un objeto.'),
    "package_module": _(
        '%(name)s: el módulo "%(module)s" no está disponible. Solo se pueden usar los '
        "módulos de Node.js y: %(allowed)s."
    ),
    "too_many_files": _("Demasiados archivos: %(count)s (el máximo es %(max)s)."),
    "not_bytes": _("Contenido no válido en %(name)s."),
    "file_too_big": _("%(name)s es demasiado grande (%(bytes)s bytes; máximo %(max)s)."),
    "total_too_big": _("La entrega es demasiado grande (máximo %(max)s bytes en total)."),
    "file_and_folder": _("%(name)s es a la vez archivo y carpeta."),
    "reserved": _("%(name)s: la carpeta %(folder)s/ está reservada para el corrector"),
}

# The site's own refusals (submissions.services), by code.
REFUSALS: dict[str, Promise] = {
    # Files (InvalidSubmission): the site's limits, stricter than the sandbox's.
    "no_files": _("La entrega no tiene archivos."),
    "max_files": _("Demasiados archivos: %(count)s (máximo %(max)s)."),
    "not_text": _("%(name)r: el nombre y el contenido deben ser texto."),
    "content_not_utf8": _("%(name)r: el contenido no es UTF-8 válido."),
    "max_file_bytes": _("%(name)s: %(bytes)s bytes, más que el máximo de %(max)s."),
    "max_total_bytes": _("La entrega ocupa %(bytes)s bytes, más que el máximo de %(max)s."),
    "no_grader": _("Este ejercicio todavía no tiene corrector."),
    # The rate limit (RateLimited).
    "in_flight": _("Ya tienes una entrega calificándose; espera a que termine para enviar otra."),
    "per_minute": _("Demasiadas entregas en un minuto; vuelve a intentarlo en %(seconds)s s."),
    # Regrades (NotRegradable, RegradeInProgress).
    "other_exercise": _("Esa versión del corrector es de otro ejercicio."),
    "version_state": _(
        "La versión %(number)s está %(state)s: solo se recalifica con versiones válidas o "
        "publicadas."
    ),
    "still_grading": _("El envío todavía se está calificando; espera a que termine."),
    "regrading_attempt": _("Este intento ya se está recalificando con la versión %(number)s."),
    "nobody_submitted": _("Nadie de este cohorte ha enviado este ejercicio todavía."),
    "already_requested": _("Esta recalificación ya se pidió."),
    "regrade_running": _("Ya hay una recalificación de este ejercicio con esta versión en curso."),
    **FILE_RULE_MESSAGES,
}


class Refusal(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def params(self) -> Mapping[str, object]: ...


def refusal_message(refusal: Refusal) -> str:
    """The refusal's sentence in the active language (its code, for one not known here)."""
    template = REFUSALS.get(refusal.code)
    if template is None:
        return refusal.code
    params = dict(refusal.params)
    if refusal.code == "version_state":
        params["state"] = _state_label(str(params.get("state", "")))
    return str(template) % params


def _state_label(state: str) -> str:
    from taller.courses.models import GraderVersion

    try:
        return str(GraderVersion.State(state).label)
    except ValueError:
        return state
