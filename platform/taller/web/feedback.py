"""What a failed test says, in the reader's language: its check, its HTTP exchanges, the
summary of where most failures start; and why a run was not graded.

The results document (docs/results.md) carries a standard check, and a run's reason, as
a code and its parameters; the words are here. static/taller/js/live.js renders the same
from the same strings (`live_strings`), so a live page reads as a reload does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.utils.translation import gettext, gettext_lazy, ngettext

from taller.submissions.messages import FILE_RULE_MESSAGES
from taller_grader.results import PLATFORM_FAILED, WORKER_LOST

# One sentence per check code; every parameter is already text (see _param).
CHECKS = {
    "status": gettext_lazy(
        "%(method)s %(path)s: se esperaba el estado %(expected)s y llegó %(got)s."
    ),
    "content-type": gettext_lazy(
        "%(method)s %(path)s: se esperaba una respuesta JSON (Content-Type: %(expected)s) "
        "y llegó Content-Type %(got)s."
    ),
    "json-invalid": gettext_lazy(
        "%(method)s %(path)s: el cuerpo de la respuesta no es JSON válido."
    ),
    "header": gettext_lazy(
        "%(method)s %(path)s: se esperaba la cabecera %(name)s (%(expected)s) y llegó %(got)s."
    ),
    "json-field": gettext_lazy(
        "%(method)s %(path)s: se esperaba el campo «%(field)s» (%(expected)s) y llegó %(got)s."
    ),
    "no-answer": gettext_lazy(
        "%(method)s %(path)s: el servidor no respondió (%(reason)s). ¿Se cayó? Mira su salida."
    ),
}
# Why a run was not graded (its `reason`): the platform's own reasons, and the file
# rules a rejected run broke (the same words the site refuses them with).
REASONS = {
    PLATFORM_FAILED: gettext_lazy(
        "La plataforma de corrección falló. No es culpa tuya: la entrega se vuelve a "
        "calificar y no te cuesta un intento."
    ),
    WORKER_LOST: gettext_lazy(
        "El proceso de corrección se detuvo dos veces con esta entrega. No es culpa tuya y "
        "no te cuesta un intento; el equipo docente lo ve."
    ),
    **FILE_RULE_MESSAGES,
}


def start_there_template(n: int) -> str:
    # The pair written out at the call, for makemessages: a pair passed through a
    # variable is invisible to it, and it would mark the translation obsolete.
    return ngettext(
        "%(n)s prueba falla primero en %(request)s: empieza por ahí.",
        "%(n)s pruebas fallan primero en %(request)s: empieza por ahí.",
        n,
    )


def strings() -> dict[str, Any]:
    """What live.js needs to say the same, in the active language."""
    return {
        "checks": {code: str(text) for code, text in CHECKS.items()},
        "reasons": {code: str(text) for code, text in REASONS.items()},
        "none": gettext("ninguno"),
        "any": gettext("cualquiera"),
        "start_there_one": start_there_template(1),
        "start_there_many": start_there_template(2),
        "phrases": {str(s.value): s.phrase for s in HTTPStatus},
        "request": gettext("Petición"),
        "response": gettext("Respuesta"),
        "no_response": gettext("Sin respuesta"),
        "headers": gettext("Cabeceras (%(n)s)"),
        "copy_curl": gettext("Copiar como curl"),
        "copied": gettext("Copiado"),
        "copy_failed": gettext("No se pudo copiar: selecciona el comando a mano."),
        "test_output": gettext("Lo que escribió tu programa durante esta prueba"),
    }


def _param(value: Any) -> str:
    if value is None:
        return gettext("ninguno")
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return str(value)


def check_message(check: Mapping[str, Any] | None) -> str:
    """The check's sentence in the active language; '' for a code this site does not know
    (the test's `output` says it in Spanish then)."""
    if not check:
        return ""
    template = CHECKS.get(str(check.get("code")))
    if template is None:
        return ""
    params = check.get("params") or {}
    fields = {key: _param(params.get(key)) for key in _placeholders(str(template))}
    if "expected" in fields and params.get("expected") is None:
        fields["expected"] = gettext("cualquiera")
    return str(template) % fields


def reason_message(reason: Mapping[str, Any] | None) -> str:
    """Why the run was not graded, in the active language; '' for a code this site does
    not know (the run's `output` says it in Spanish then)."""
    if not reason:
        return ""
    template = REASONS.get(str(reason.get("code")))
    if template is None:
        return ""
    params = reason.get("params") or {}
    try:
        return str(template) % {key: params.get(key, "") for key in _placeholders(str(template))}
    except (TypeError, ValueError):
        return ""


def _placeholders(template: str) -> list[str]:
    import re

    return re.findall(r"%\((\w+)\)s", template)


def display_name(test: Mapping[str, Any], language: str) -> str:
    return str((language == "en" and test.get("name_en")) or test.get("name", ""))


def _pretty(body: str, headers: Mapping[str, str]) -> str:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in content_type.lower():
        try:
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            return body
    return body


def exchange_view(exchange: Mapping[str, Any]) -> dict[str, Any]:
    """An exchange as the page shows it: request line, status line, headers, bodies."""
    request = exchange.get("request") or {}
    response = exchange.get("response")
    view: dict[str, Any] = {
        "request_line": f"{request.get('method', '')} {request.get('path', '')}".strip(),
        "request_headers": "\n".join(f"{k}: {v}" for k, v in request.get("headers", {}).items()),
        "request_header_count": len(request.get("headers", {})),
        "request_body": _pretty(request.get("body", ""), request.get("headers", {})),
        "curl": exchange.get("curl", ""),
        "description": exchange.get("description", ""),
        "response": None,
    }
    if response is not None:
        status = int(response.get("status", 0))
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        view["response"] = {
            "status_line": f"HTTP {status} {phrase}".strip(),
            "ok": status < 400,
            "headers": "\n".join(f"{k}: {v}" for k, v in response.get("headers", {}).items()),
            "header_count": len(response.get("headers", {})),
            "body": _pretty(response.get("body", ""), response.get("headers", {})),
        }
    return view


def first_failure(test: Mapping[str, Any]) -> str | None:
    """Where a failed test first went wrong: 'POST /api/tareas → 404', when known.

    The request its failed check was about; otherwise its last request that got an
    answer (the one it was checking when it failed)."""
    if test.get("status") == "passed":
        return None
    check = test.get("check") or {}
    params = check.get("params") or {}
    if params.get("method") and params.get("path") and isinstance(params.get("got"), int):
        return f"{params['method']} {params['path']} → {params['got']}"
    for exchange in reversed(test.get("exchanges") or []):
        request, response = exchange.get("request"), exchange.get("response")
        if request and response:
            return f"{request['method']} {request['path']} → {response['status']}"
    return None


def start_there(tests: Iterable[Mapping[str, Any]]) -> str:
    """'15 tests fail first at POST /api/tareas → 404: start there', when several do."""
    counts = Counter(place for t in tests if (place := first_failure(t)) is not None)
    if not counts:
        return ""
    place, n = counts.most_common(1)[0]
    if n < 2:
        return ""
    return start_there_template(n) % {"n": n, "request": place}
