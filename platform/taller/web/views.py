"""Server-rendered pages. Thin: read through selectors, write through services."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from taller.accounts.models import User
from taller.courses import selectors as course_selectors
from taller.grading.selectors import snapshot_of, submission_snapshot, viewer_for, viewer_of
from taller.submissions import selectors as submission_selectors
from taller.submissions.messages import refusal_message
from taller.submissions.models import Submission
from taller.submissions.services import InvalidSubmission, RateLimited, submission_create
from taller.web import feedback
from taller.web.forms import files_from_post
from taller.web.markdown import render_markdown, without_title
from taller.web.templatetags.taller import summary_failed_template


class AuthenticatedRequest(HttpRequest):
    """What a @login_required view receives: the user is a real account."""

    user: User


@login_required
def course_view(request: AuthenticatedRequest) -> HttpResponse:
    course = course_selectors.course_get()
    outline = course_selectors.course_outline(course, request.user) if course else []
    return render(request, "web/course.html", {"course": course, "outline": outline})


@login_required
@require_http_methods(["GET", "POST"])
def exercise_view(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    exercise = course_selectors.exercise_get(slug)
    if exercise is None or exercise.current_version is None:
        raise Http404(_("No existe ese ejercicio."))
    wants_json = "application/json" in request.headers.get("Accept", "")
    status = 200
    posted: dict[str, str] | None = None
    if request.method == "POST":
        posted = files_from_post(request.POST)
        try:
            submission = submission_create(student=request.user, exercise=exercise, files=posted)
        except InvalidSubmission as exc:
            if wants_json:
                return JsonResponse({"error": refusal_message(exc), "code": exc.code}, status=400)
            messages.error(request, refusal_message(exc))
            status = 400
        except RateLimited as exc:
            response: HttpResponse
            if wants_json:
                response = JsonResponse(
                    {
                        "error": refusal_message(exc),
                        "code": exc.code,
                        "retry_after": exc.retry_after,
                    },
                    status=429,
                )
            else:
                messages.warning(request, refusal_message(exc))
                response = _exercise_page(request, exercise, posted, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        else:
            if wants_json:
                return JsonResponse(_submission_links(submission), status=202)
            messages.success(request, _("Entrega #%(n)s recibida.") % {"n": submission.attempt})
            return redirect("exercise", slug=slug)
    return _exercise_page(request, exercise, posted, status=status)


def _submission_links(submission: Submission) -> dict[str, Any]:
    local = timezone.localtime(submission.submitted_at)
    return {
        "id": submission.pk,
        "attempt": submission.attempt,
        # For the attempts table's new row, in the format of the rows rendered here.
        "submitted_at": local.isoformat(),
        "submitted_at_display": dateformat.format(local, get_format("SHORT_DATETIME_FORMAT")),
        "status": submission.status,
        "status_url": reverse("submission-status", args=[submission.pk]),
        "ws_path": f"/ws/submissions/{submission.pk}/",
    }


def _exercise_page(
    request: AuthenticatedRequest,
    exercise: Any,
    posted: dict[str, str] | None,
    *,
    status: int = 200,
) -> HttpResponse:
    version = exercise.current_version
    attempts = submission_selectors.attempt_rows(student=request.user, exercise=exercise)
    # Only the latest whole: its code reopens in the editor, its results show below.
    latest = submission_selectors.submission_get(attempts[0].pk) if attempts else None
    # Reopen the editor on what was just posted, else the latest code, else the starter.
    files = posted or (dict(latest.files) if latest else dict(version.starter_files))
    snapshot = None
    if latest is not None:
        viewer = viewer_of(request.user, latest)
        snapshot = snapshot_of(latest, viewer) if viewer else None
    return render(
        request,
        "web/exercise.html",
        {
            "exercise": exercise,
            "statement_html": render_markdown(without_title(version.statement)),
            "files": sorted(files.items(), key=lambda kv: _file_order(kv[0], version.entry_files)),
            "attempts": attempts,
            "latest": latest,
            "snapshot": snapshot,
            "live_strings": _live_strings_script(get_language()),
        },
        status=status,
    )


@lru_cache(maxsize=8)
def _live_strings_script(language: str) -> SafeString:
    """The page's <script> of what live.js shows, in the page's language: the same for
    every page in a language, and translating and encoding it was 0.35 ms of each exercise
    page (measured in process)."""
    with translation.override(language):
        return json_script(_live_strings(), "live-strings")


def _live_strings() -> dict[str, Any]:
    return {
        "status": {value: str(label) for value, label in Submission.Status.choices},
        "title": _("Resultado del envío #%(n)s"),
        "queue": _("Tu envío está en la cola: posición %(n)s."),
        "what_failed": _("Qué falló"),
        "program_output": _("Salida del programa"),
        "send_failed": _(
            "No se pudo enviar la solución. Revisa tu conexión y vuelve a intentarlo."
        ),
        "retry_in": _("Podrás volver a enviar en %(n)s s."),
        "sending": _("Enviando…"),
        # live.js rebuilds a graded run's summary line in the page's language.
        "summary_passed": _("Todas las pruebas pasaron."),
        "summary_failed_one": summary_failed_template(1),
        "summary_failed_many": summary_failed_template(2),
        "test_output_title": _("Salida de esta prueba"),
        **feedback.strings(),
    }


@login_required
@require_GET
def submission_status(request: AuthenticatedRequest, submission_id: int) -> JsonResponse:
    """The live panel's fallback when the WebSocket is unavailable."""
    viewer = viewer_for(request.user, submission_id)
    if viewer is None:
        raise Http404
    return JsonResponse(submission_snapshot(submission_id, viewer))


def _file_order(path: str, entries: list[str]) -> tuple[int, str]:
    return (entries.index(path) if path in entries else len(entries), path)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("course")
