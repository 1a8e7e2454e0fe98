"""Joining a cohort through its invite link."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from taller.cohorts.selectors import cohort_by_invite
from taller.cohorts.services import EnrollmentError, student_join_by_invite
from taller.teaching.forms import JoinForm


@require_http_methods(["GET", "POST"])
def join_view(request: HttpRequest, code: str) -> HttpResponse:
    cohort = cohort_by_invite(code)
    if cohort is None:
        raise Http404
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            enrollment = student_join_by_invite(
                code=code,
                username=data["username"],
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
            )
        except EnrollmentError as exc:
            form.add_error(None, str(exc))
        else:
            login(request, enrollment.student, backend="taller.accounts.backends.RolesModelBackend")
            return redirect("course")
    return render(request, "registration/join.html", {"form": form, "cohort": cohort})
