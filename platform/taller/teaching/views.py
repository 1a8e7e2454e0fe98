"""Instructors: upload a grader bundle, watch it validated, publish it."""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
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
from taller.courses.bundles import BundleError, load_bundle, zip_files
from taller.courses.models import GraderVersion, Section
from taller.courses.services import (
    VersionError,
    grader_version_publish,
    grader_version_upload,
    version_bundle,
    version_files,
)
from taller.grading.selectors import platform_status, workers_alive
from taller.grading.services import grader_version_enqueue_validation
from taller.teaching import selectors
from taller.teaching.checks import kind_label, row_message, status_label
from taller.teaching.forms import BundleForm, EnrollmentImportForm
from taller.web.markdown import render_markdown


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


def _rows(version: GraderVersion) -> list[dict[str, Any]]:
    """The validation table's rows with their words (kind, status, what it means)."""
    return [
        {
            **row,
            "kind_label": kind_label(str(row.get("kind"))),
            "status_label": status_label(str(row.get("status"))),
            "message": row_message(row),
        }
        for row in (version.validation or {}).get("rows", [])
    ]


def _progress(version: GraderVersion) -> dict[str, int]:
    validation = version.validation or {}
    return {"done": len(validation.get("rows", [])), "total": int(validation.get("total") or 0)}


@role_required(is_staff_member)
def exercise_versions_view(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = selectors.exercise_for_staff(slug)
    if exercise is None:
        raise Http404
    versions = list(selectors.versions_of(exercise))
    for version in versions:
        version.rows = _rows(version)  # type: ignore[attr-defined]
        version.progress = _progress(version)  # type: ignore[attr-defined]
    return render(
        request,
        "teaching/exercise.html",
        {
            "exercise": exercise,
            "versions": versions,
            "newest": versions[0] if versions else None,
            "refresh": selectors.any_validating(exercise),
        },
    )


@role_required(is_staff_member)
def validation_status_view(request: HttpRequest, slug: str, number: int) -> JsonResponse:
    """The validation's progress ("k of N") and state, for the page to follow live."""
    version = selectors.version_of(slug, number)
    if version is None:
        raise Http404
    return JsonResponse(
        {"state": version.state, "state_label": version.get_state_display(), **_progress(version)}
    )


def _diff(old: dict[str, str], new: dict[str, str]) -> list[dict[str, str]]:
    """What changes, file by file, in unified diff form (files added and removed too)."""
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        text = "".join(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=name if before is not None else "/dev/null",
                tofile=name if after is not None else "/dev/null",
                n=2,
            )
        )
        change = (
            _("añadido") if before is None else _("borrado") if after is None else _("cambiado")
        )
        changes.append({"name": name, "change": change, "diff": text[:20000]})
    return changes


@role_required(is_staff_member)
def version_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A version before it is published: its statement, starter, validation, and what
    publishing it would change against the version in use (the confirmation)."""
    version = selectors.version_of(slug, number)
    if version is None:
        raise Http404
    exercise = version.exercise
    current = exercise.current_version
    changes = (
        _diff(version_files(current), version_files(version))
        if current is not None and current.pk != version.pk
        else []
    )
    return render(
        request,
        "teaching/version.html",
        {
            "exercise": exercise,
            "version": version,
            "current": current,
            "changes": changes,
            "rows": _rows(version),
            "progress": _progress(version),
            "statement": render_markdown(version.statement),
            "can_publish": version.state in ("valid", "published")
            and version.pk != exercise.current_version_id,
        },
    )


@role_required(is_staff_member)
def version_download_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A version as a bundle zip: edit its files at home, upload them back."""
    version = selectors.version_of(slug, number)
    if version is None:
        raise Http404
    response = HttpResponse(version_bundle(version), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{slug}-v{number}.zip"'
    return response


@role_required(is_staff_member)
def template_bundle_view(request: HttpRequest) -> HttpResponse:
    """A bundle to start from: what `manage.py new_exercise` writes, ready to upload."""
    from taller.courses.management.commands.new_exercise import scaffold_files

    section = Section.objects.order_by("number").values_list("number", flat=True).first() or 1
    response = HttpResponse(
        zip_files(scaffold_files("nuevo-ejercicio", section)), content_type="application/zip"
    )
    response["Content-Disposition"] = 'attachment; filename="nuevo-ejercicio.zip"'
    return response


@role_required(is_staff_member)
@require_POST
def publish_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = selectors.version_of(slug, number)
    if version is None:
        raise Http404
    if request.POST.get("confirm") != "1":
        # Publishing is confirmed on the version's page, which shows what would change.
        return redirect("teaching-version", slug=slug, number=number)
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
