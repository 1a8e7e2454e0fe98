"""Instructors: upload a grader bundle, watch it validated, publish it."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from taller.accounts.roles import is_admin, is_staff_member, role_required
from taller.courses.bundles import BundleError, load_bundle
from taller.courses.models import Exercise, GraderVersion
from taller.courses.services import VersionError, grader_version_publish, grader_version_upload
from taller.grading.services import grader_version_enqueue_validation
from taller.teaching import selectors
from taller.teaching.forms import BundleForm


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
    exercise = Exercise.objects.filter(slug=slug).first()
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
    version = GraderVersion.objects.filter(exercise__slug=slug, number=number).first()
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
    from django.conf import settings

    from taller.grading.selectors import platform_status, workers_alive

    return render(
        request,
        "teaching/status.html",
        {
            "status": platform_status(settings.TALLER_STUCK_AFTER_SECONDS),
            "workers": workers_alive(),
            "embedded": settings.TALLER_GRADING != "celery",
        },
    )
