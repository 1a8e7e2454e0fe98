"""Server-rendered pages. Thin: read through selectors, write through services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from taller.accounts.models import User
from taller.courses import selectors as course_selectors
from taller.submissions import selectors as submission_selectors
from taller.submissions.services import InvalidSubmission, submission_create
from taller.web.forms import files_from_post
from taller.web.markdown import render_markdown, without_title


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
    version = exercise.current_version
    files = dict(version.starter_files)
    if request.method == "POST":
        files = files_from_post(request.POST)
        try:
            submission = submission_create(student=request.user, exercise=exercise, files=files)
        except InvalidSubmission as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Entrega #%(n)s recibida.") % {"n": submission.attempt})
            return redirect("exercise", slug=slug)
    attempts = submission_selectors.student_attempts(student=request.user, exercise=exercise)
    latest = attempts.first()
    if request.method == "GET" and latest is not None:
        # Reopen the editor on the student's latest code, not the starter.
        files = dict(latest.files)
    return render(
        request,
        "web/exercise.html",
        {
            "exercise": exercise,
            "statement_html": render_markdown(without_title(version.statement)),
            "files": sorted(files.items(), key=lambda kv: _file_order(kv[0], version.entry_files)),
            "attempts": attempts[:20],
        },
    )


def _file_order(path: str, entries: list[str]) -> tuple[int, str]:
    return (entries.index(path) if path in entries else len(entries), path)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def home(request: HttpRequest) -> HttpResponse:
    return redirect("course")
