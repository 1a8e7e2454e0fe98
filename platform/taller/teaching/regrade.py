"""Instructors: regrade a cohort's latest attempts (or one submission) with a grader
version, and follow the progress live."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from taller.accounts.models import User
from taller.accounts.roles import can_regrade, is_staff_member, role_required
from taller.courses.models import GraderVersion
from taller.submissions.messages import refusal_message
from taller.submissions.models import RegradeBatch, Submission
from taller.submissions.selectors import (
    REGRADE_STATES,
    regrade_batches_of,
    regrade_progress,
    regrade_versions,
    submission_history,
)
from taller.submissions.services import (
    NotRegradable,
    RegradeInProgress,
    regrade_batch_create,
    submission_regrade,
)
from taller.teaching.selectors import cohort_or_404


def _version_choices() -> list[tuple[Any, Any]]:
    """Versions grouped by exercise, so one select picks both (no JS needed)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    versions = (
        GraderVersion.objects.filter(state__in=REGRADE_STATES)
        .select_related("exercise", "exercise__section")
        .order_by("exercise__section__number", "exercise__order", "exercise__slug", "-number")
    )
    for v in versions:
        # The exercise in the option too: a closed select shows no group label.
        label = f"{v.exercise.slug} · " + _("versión %(n)s (%(state)s)") % {
            "n": v.number,
            "state": v.get_state_display(),
        }
        if v.exercise.current_version_id == v.pk:
            label += " · " + _("vigente")
        groups.setdefault(f"{v.exercise.title} ({v.exercise.slug})", []).append((v.pk, label))
    return [("", "—"), *groups.items()]


class RegradeBatchForm(forms.Form):
    version = forms.TypedChoiceField(
        label=gettext_lazy("Ejercicio y versión del corrector"),
        coerce=int,
        help_text=gettext_lazy(
            "Se recalifica el último intento de cada estudiante con esta versión; "
            "los resultados anteriores se conservan."
        ),
    )
    # One per rendered form: a second POST of the same form finds the same batch.
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = _version_choices()  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4()

    def clean_version(self) -> GraderVersion:
        pk = self.cleaned_data["version"]
        version = (
            GraderVersion.objects.select_related("exercise").filter(pk=pk, state__in=REGRADE_STATES)
        ).first()
        if version is None:
            raise forms.ValidationError(_("Elige una versión válida o publicada."))
        return version


def _batch_or_404(request: HttpRequest, cohort_id: int, batch_id: int) -> RegradeBatch:
    cohort = cohort_or_404(request.user, cohort_id)
    batch = (
        RegradeBatch.objects.filter(pk=batch_id, cohort=cohort)
        .select_related("cohort", "exercise", "grader_version", "requested_by")
        .first()
    )
    if batch is None:
        raise Http404
    return batch


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def cohort_regrades_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    form = RegradeBatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        version = form.cleaned_data["version"]
        try:
            assert isinstance(request.user, User)  # role_required signed them in
            batch = regrade_batch_create(
                cohort=cohort,
                exercise=version.exercise,
                version=version,
                requested_by=request.user,
                request_token=form.cleaned_data["token"],
            )
        except RegradeInProgress as exc:
            messages.info(request, refusal_message(exc))
            return redirect("teaching-regrade", cohort_id=cohort.pk, batch_id=exc.batch.pk)
        except NotRegradable as exc:
            form.add_error("version", refusal_message(exc))
        else:
            n = batch.submissions.count()
            messages.success(
                request,
                ngettext(
                    "Recalificando %(n)s envío con la versión %(v)s.",
                    "Recalificando %(n)s envíos con la versión %(v)s.",
                    n,
                )
                % {"n": n, "v": version.number},
            )
            return redirect("teaching-regrade", cohort_id=cohort.pk, batch_id=batch.pk)
    return render(
        request,
        "teaching/regrades.html",
        {"cohort": cohort, "form": form, "batches": regrade_batches_of(cohort)[:50]},
        status=400 if form.errors else 200,
    )


@role_required(is_staff_member)
def regrade_batch_view(request: HttpRequest, cohort_id: int, batch_id: int) -> HttpResponse:
    batch = _batch_or_404(request, cohort_id, batch_id)
    return render(
        request,
        "teaching/regrade.html",
        {"batch": batch, "cohort": batch.cohort, "progress": regrade_progress(batch)},
    )


@role_required(is_staff_member)
def regrade_batch_status(request: HttpRequest, cohort_id: int, batch_id: int) -> JsonResponse:
    """What the progress page polls."""
    batch = _batch_or_404(request, cohort_id, batch_id)
    return JsonResponse(regrade_progress(batch).as_json())


def _staff_submission_or_404(request: HttpRequest, submission_id: int) -> Submission:
    submission = (
        Submission.objects.filter(pk=submission_id)
        .select_related("student", "exercise", "cohort", "grader_version")
        .first()
    )
    # Someone else's cohort: as if it did not exist.
    if submission is None or not can_regrade(request.user, submission):
        raise Http404
    return submission


@role_required(is_staff_member)
def staff_submission_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    """A submission as the staff see it: its code, and every grading of it."""
    submission = _staff_submission_or_404(request, submission_id)
    return render(
        request,
        "teaching/submission.html",
        {
            "submission": submission,
            "history": submission_history(submission),
            "regrade_versions": regrade_versions(submission.exercise),
        },
    )


@role_required(is_staff_member)
@require_POST
def submission_regrade_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = _staff_submission_or_404(request, submission_id)
    version = None
    if request.POST.get("version"):
        try:
            version = regrade_versions(submission.exercise).get(pk=int(request.POST["version"]))
        except (ValueError, GraderVersion.DoesNotExist):
            messages.error(request, _("Elige una versión válida o publicada."))
            return _back(request, submission)
    try:
        regrade = submission_regrade(original=submission, version=version, refuse_duplicate=True)
    except NotRegradable as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(
            request,
            _("Recalificando el intento %(a)s con la versión %(v)s.")
            % {"a": regrade.attempt, "v": regrade.grader_version.number},
        )
    return _back(request, submission)


def _back(request: HttpRequest, submission: Submission) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("teaching-submission", args=[submission.pk])
    return redirect(target)
