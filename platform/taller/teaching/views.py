"""Instructors: upload a grader bundle, watch it validated, publish it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from taller.accounts.roles import (
    can_create_cohort,
    can_edit_cohort,
    can_enroll,
    is_admin,
    is_staff_member,
    role_required,
    staff_cohorts,
)
from taller.accounts.services import activation_path
from taller.cohorts.selectors import cohort_enrollments
from taller.cohorts.services import cohort_invite_rotate, enrollments_import
from taller.courses.bundles import BundleError, load_bundle
from taller.courses.services import VersionError, grader_version_publish, grader_version_upload
from taller.grading.selectors import platform_status, workers_alive
from taller.grading.services import grader_version_enqueue_validation
from taller.teaching import selectors
from taller.teaching.forms import BundleForm, EnrollmentImportForm


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def exercises_view(request: HttpRequest) -> HttpResponse:
    form = BundleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            content = load_bundle(form.cleaned_data["bundle"])
            with transaction.atomic():
                version = grader_version_upload(content=content, user=request.user)
                grader_version_enqueue_validation(version)
        except (BundleError, VersionError) as exc:
            form.add_error("bundle", str(exc))
        else:
            messages.success(
                request,
                _("Versión %(n)s de %(slug)s recibida: se está validando.")
                % {"n": version.number, "slug": version.exercise.slug},
            )
            return redirect("teaching-exercise", slug=version.exercise.slug)
    return render(
        request,
        "teaching/exercises.html",
        {"exercises": selectors.exercises_for_staff(), "form": form},
        status=400 if form.errors else 200,
    )


@role_required(is_staff_member)
def exercise_versions_view(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = selectors.exercise_for_staff(slug)
    if exercise is None:
        raise Http404
    return render(
        request,
        "teaching/exercise.html",
        {
            "exercise": exercise,
            "versions": selectors.versions_of(exercise),
            "refresh": selectors.any_validating(exercise),
        },
    )


@role_required(is_staff_member)
@require_POST
def publish_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = selectors.version_of(slug, number)
    if version is None:
        raise Http404
    try:
        grader_version_publish(version.pk)
    except VersionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("La versión %(n)s califica ahora los envíos nuevos.") % {"n": number}
        )
    return redirect("teaching-exercise", slug=slug)


@role_required(is_admin)
def status_view(request: HttpRequest) -> HttpResponse:
    """Admins: queues, workers, throughput, stuck runs, recent internal errors."""
    return render(
        request,
        "teaching/status.html",
        {
            "status": platform_status(settings.TALLER_STUCK_AFTER_SECONDS),
            "workers": workers_alive(),
            "embedded": settings.TALLER_GRADING != "celery",
        },
    )


@role_required(is_staff_member)
def cohorts_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "teaching/cohorts.html",
        {"cohorts": staff_cohorts(request.user), "can_create": can_create_cohort(request.user)},
    )


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def cohort_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = selectors.cohort_or_404(request.user, cohort_id)
    admin = can_enroll(request.user, cohort)
    form = EnrollmentImportForm(request.POST or None, request.FILES or None)
    report, links = None, {}
    if request.method == "POST":
        if not admin:
            raise PermissionDenied
        if "rotate_invite" in request.POST:
            cohort_invite_rotate(cohort)
            messages.success(request, _("Nuevo enlace de invitación creado."))
            return redirect("teaching-cohort", cohort_id=cohort.pk)
        if form.is_valid():
            report = enrollments_import(cohort=cohort, csv_text=form.cleaned_data["csv_file"])
            if report.ok:
                links = {
                    line.line: request.build_absolute_uri(activation_path(line.user_id))
                    for line in report.lines
                    if line.created and line.user_id
                }
                messages.success(
                    request, _("%(n)s estudiantes inscritos.") % {"n": len(report.lines)}
                )
    invite_url = (
        request.build_absolute_uri(reverse("join", args=[cohort.invite_code]))
        if cohort.invite_code
        else ""
    )
    return render(
        request,
        "teaching/cohort.html",
        {
            "cohort": cohort,
            "enrollments": cohort_enrollments(cohort),
            "form": form,
            "report": report,
            "links": links,
            "invite_url": invite_url,
            "can_manage": admin,
            "can_edit": can_edit_cohort(request.user, cohort),
        },
        status=400 if report is not None and not report.ok else 200,
    )
