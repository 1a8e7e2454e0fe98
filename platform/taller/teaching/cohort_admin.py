"""Admins manage cohorts: create and edit them, set deadlines, enrol and unenrol students.

Django admin stays as the fallback. Who may do what is decided in accounts/roles.py:
a cohort someone may not read answers 404 (as on the cohort page), an action their role
may not take answers 403. Instructors of a cohort read its deadlines here but change
nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from taller.accounts.models import User
from taller.accounts.roles import (
    can_create_cohort,
    can_edit_cohort,
    can_enroll,
    can_set_deadlines,
    is_staff_member,
    role_required,
)
from taller.accounts.services import activation_path
from taller.cohorts.selectors import cohort_course_locked, cohort_deadline_rows
from taller.cohorts.services import (
    EnrollmentError,
    cohort_create,
    cohort_deadlines_set,
    cohort_update,
    enrollment_add,
    enrollment_remove,
)
from taller.teaching.cohort_forms import CohortForm, DeadlinesForm, EnrolForm
from taller.teaching.selectors import cohort_or_404


def _details(form: CohortForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "course": data["course"],
        "starts_on": data["starts_on"],
        "ends_on": data["ends_on"],
        "late_penalty_percent_per_day": data["late_penalty_percent_per_day"],
        "late_days_accepted": data["late_days_accepted"],
        "instructors": data["instructors"],
    }


@role_required(can_create_cohort)
@require_http_methods(["GET", "POST"])
def cohort_create_view(request: HttpRequest) -> HttpResponse:
    form = CohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = cohort_create(**_details(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Cohorte «%(name)s» creada.") % {"name": cohort.name})
            return redirect("teaching-cohort", cohort_id=cohort.pk)
    return render(
        request,
        "teaching/cohort_form.html",
        {"form": form, "cohort": None},
        status=400 if form.errors else 200,
    )


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def cohort_edit_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    if not can_edit_cohort(request.user, cohort):
        raise PermissionDenied
    form = CohortForm(
        request.POST or None, cohort=cohort, course_locked=cohort_course_locked(cohort)
    )
    if request.method == "POST" and form.is_valid():
        try:
            cohort_update(cohort=cohort, **_details(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Cambios guardados."))
            return redirect("teaching-cohort", cohort_id=cohort.pk)
    return render(
        request,
        "teaching/cohort_form.html",
        {"form": form, "cohort": cohort},
        status=400 if form.errors else 200,
    )


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def cohort_deadlines_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    editable = can_set_deadlines(request.user, cohort)
    if request.method == "POST" and not editable:
        raise PermissionDenied
    rows = cohort_deadline_rows(cohort)
    form = DeadlinesForm(request.POST or None, cohort=cohort, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            changed = cohort_deadlines_set(cohort=cohort, deadlines=form.deadlines())
        except ValidationError as exc:
            # The form checked the same rules; this is a race with an edit of the dates.
            for name, exercise in form.exercises.items():
                for message in exc.message_dict.get(exercise.slug, []):
                    form.add_error(name, message)
        else:
            messages.success(
                request,
                ngettext(
                    "Plazos guardados (%(n)s cambio).", "Plazos guardados (%(n)s cambios).", changed
                )
                % {"n": changed},
            )
            return redirect("teaching-cohort-deadlines", cohort_id=cohort.pk)
    return render(
        request,
        "teaching/cohort_deadlines.html",
        {"cohort": cohort, "form": form, "rows": rows, "editable": editable},
        status=400 if form.errors else 200,
    )


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def cohort_enrol_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """Enrol one student. The cohort page posts here; errors are shown on this page."""
    cohort = cohort_or_404(request.user, cohort_id)
    if not can_enroll(request.user, cohort):
        raise PermissionDenied
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = enrollment_add(
                cohort=cohort,
                identifier=form.cleaned_data["identifier"],
                first_name=form.cleaned_data["first_name"],
            )
        except EnrollmentError as exc:
            form.add_error("identifier", str(exc))
        else:
            student = added.enrollment.student
            if added.created_account:
                link = request.build_absolute_uri(activation_path(student.pk))
                messages.success(
                    request,
                    _(
                        "Cuenta nueva «%(user)s» creada e inscrita. Envíale este enlace "
                        "de activación para que elija su contraseña: %(link)s"
                    )
                    % {"user": student.username, "link": link},
                )
            else:
                messages.success(request, _("%(user)s inscrito.") % {"user": student.username})
            return redirect("teaching-cohort", cohort_id=cohort.pk)
    return render(
        request,
        "teaching/cohort_enrol.html",
        {"cohort": cohort, "form": form},
        status=400 if form.errors else 200,
    )


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def cohort_unenrol_view(request: HttpRequest, cohort_id: int, student_id: int) -> HttpResponse:
    """Asks first (GET), then takes the student out (POST); their submissions stay."""
    cohort = cohort_or_404(request.user, cohort_id)
    if not can_enroll(request.user, cohort):
        raise PermissionDenied
    student = User.objects.filter(pk=student_id, enrollments__cohort=cohort).first()
    if student is None:
        raise Http404
    if request.method == "POST":
        try:
            enrollment_remove(cohort=cohort, student=student)
        except EnrollmentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(user)s ya no está en la cohorte; sus envíos se conservan.")
                % {"user": student.username},
            )
        return redirect("teaching-cohort", cohort_id=cohort.pk)
    return render(request, "teaching/cohort_unenrol.html", {"cohort": cohort, "student": student})
