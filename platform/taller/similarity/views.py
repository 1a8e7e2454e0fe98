"""The cohort's similarity report, for its instructors and admins (never its students).

Staff of the cohort only, as every teaching page: an admin sees every cohort, an
instructor the ones they teach; anyone else gets a 404 for a cohort (a 403 or the
sign-in page before that).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.validators import MinValueValidator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from taller.accounts.models import User
from taller.accounts.roles import is_staff_member, role_required
from taller.cohorts.models import Cohort
from taller.similarity import selectors
from taller.similarity.models import SimilarityReport
from taller.similarity.services import similarity_request
from taller.teaching.selectors import cohort_or_404


def failure_text(code: str) -> str:
    """What a failed report's code means, for people."""
    texts = {
        "engine-missing": _(
            "El analizador (Dolos) no está instalado en este servidor: ejecuta «make install»."
        ),
        "engine-failed": _("El analizador terminó con un error."),
        "timeout": _("El análisis tardó más de lo permitido."),
        "bad-output": _("El analizador devolvió una respuesta que no se entiende."),
        "lost": _("El proceso que analizaba se detuvo; vuelve a pedir el análisis."),
    }
    return texts.get(code, _("Error interno del análisis."))


STAGES = {
    "collect": gettext_lazy("Preparando los envíos"),
    "tokenize": gettext_lazy("Leyendo los envíos"),
    "compare": gettext_lazy("Comparando pares"),
    "done": gettext_lazy("Terminado"),
}


class ReportForm(forms.Form):
    """What the page shows: which exercise, with earlier cohorts or not, from what score."""

    exercise = forms.ChoiceField(label=gettext_lazy("Ejercicio"))
    anteriores = forms.BooleanField(
        label=gettext_lazy("Comparar también con cohortes anteriores"), required=False
    )
    umbral = forms.IntegerField(
        label=gettext_lazy("Similitud mínima (%)"),
        required=False,
        max_value=100,
        help_text=gettext_lazy("Solo se muestran los pares con al menos esta similitud."),
    )

    def __init__(self, *args: Any, cohort: Cohort, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exercises = {e.slug: e for e in selectors.cohort_exercises(cohort)}
        self.fields["exercise"].choices = [  # type: ignore[attr-defined]
            (slug, f"{e.title} ({slug})") for slug, e in self.exercises.items()
        ]
        floor = round(settings.TALLER_SIMILARITY_FLOOR * 100)
        self.fields["umbral"].min_value = floor  # type: ignore[attr-defined]
        self.fields["umbral"].validators.append(MinValueValidator(floor))
        self.fields["umbral"].widget.attrs.update({"min": floor, "max": 100, "step": 1})

    def threshold(self) -> float:
        value = self.cleaned_data.get("umbral")
        if value is None:
            return float(settings.TALLER_SIMILARITY_THRESHOLD)
        return value / 100


def _query(form: ReportForm) -> str:
    data = form.cleaned_data
    params: dict[str, Any] = {"exercise": data["exercise"]}
    if data.get("anteriores"):
        params["anteriores"] = "on"
    if data.get("umbral") is not None:
        params["umbral"] = data["umbral"]
    return urlencode(params)


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def report_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    source = request.POST if request.method == "POST" else request.GET
    form = ReportForm(source if "exercise" in source else None, cohort=cohort)
    context: dict[str, Any] = {"cohort": cohort, "form": form, "current": "similarity"}
    if not form.is_bound:
        return render(request, "similarity/report.html", context)
    if not form.is_valid():
        return render(request, "similarity/report.html", context, status=400)
    exercise = form.exercises[form.cleaned_data["exercise"]]
    earlier = bool(form.cleaned_data.get("anteriores"))
    if request.method == "POST":
        assert isinstance(request.user, User)  # role_required signed them in
        outcome = similarity_request(
            cohort=cohort, exercise=exercise, include_earlier=earlier, requested_by=request.user
        )
        if not outcome.created:
            messages.info(request, _("Nada ha cambiado desde el último análisis: se muestra ese."))
        return redirect(reverse("similarity", args=[cohort.pk]) + "?" + _query(form))
    report = selectors.latest_report(cohort, exercise, include_earlier=earlier)
    threshold = form.threshold()
    rows = selectors.report_pairs(report, threshold) if report and report.state == "done" else []
    context.update(
        {
            "exercise": exercise,
            "report": report,
            "is_current": report is not None
            and report.inputs_key
            == selectors.current_inputs_key(cohort, exercise, include_earlier=earlier),
            "threshold_percent": round(threshold * 100),
            "rows": rows,
            "clusters": selectors.clusters(rows),
            "compared": len(report.entries) if report else 0,
            "earlier_count": sum(1 for e in report.entries if e.get("earlier")) if report else 0,
            "progress": _progress(report) if report else None,
            "failure": failure_text(report.error_code) if report and report.error_code else "",
            "query": _query(form),
        }
    )
    return render(request, "similarity/report.html", context)


def _progress(report: SimilarityReport) -> dict[str, Any]:
    progress = report.progress or {}
    stage = str(progress.get("stage", ""))
    return {
        "state": report.state,
        "state_label": report.get_state_display(),
        "finished": report.is_final,
        "stage": stage,
        "stage_label": str(STAGES.get(stage, "")),
        "done": int(progress.get("done", 0)),
        "total": int(progress.get("total", 0)),
    }


def _report_or_404(request: HttpRequest, cohort_id: int, report_id: int) -> SimilarityReport:
    cohort = cohort_or_404(request.user, cohort_id)
    report = selectors.report_get(cohort, report_id)
    if report is None:
        raise Http404
    return report


@role_required(is_staff_member)
def report_status(request: HttpRequest, cohort_id: int, report_id: int) -> JsonResponse:
    """What the page polls while the analysis runs."""
    return JsonResponse(_progress(_report_or_404(request, cohort_id, report_id)))


@role_required(is_staff_member)
def pair_view(request: HttpRequest, cohort_id: int, report_id: int, pair_id: int) -> HttpResponse:
    """The two submissions side by side, the shared fragments marked on both."""
    report = _report_or_404(request, cohort_id, report_id)
    pair = selectors.pair_get(report, pair_id)
    if pair is None:
        raise Http404
    rows = [r for r in selectors.report_pairs(report, pair.similarity) if r.pair.pk == pair.pk]
    if not rows:
        raise Http404
    left, right = selectors.side_by_side(pair)
    return render(
        request,
        "similarity/pair.html",
        {
            "cohort": report.cohort,
            "report": report,
            "row": rows[0],
            "left": left,
            "right": right,
            "fragments": [{"number": n, **f} for n, f in enumerate(pair.fragments, start=1)],
            "back": reverse("similarity", args=[report.cohort.pk])
            + "?"
            + urlencode(
                {"exercise": report.exercise.slug}
                | ({"anteriores": "on"} if report.include_earlier else {})
            ),
        },
    )
