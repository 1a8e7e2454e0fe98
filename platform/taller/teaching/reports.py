"""Instructors' cohort reports: the gradebook (and its CSV), the dashboard, a student's page.

Staff of the cohort only: an admin sees every cohort, an instructor the ones they
teach; anyone else gets a 404 for a cohort (a 403 or the sign-in page before that,
as every teaching page).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _

from taller.accounts.roles import is_staff_member, role_required
from taller.cohorts.selectors import (
    ExerciseStats,
    cohort_dashboard,
    cohort_gradebook,
    cohort_student,
    cohort_student_attempts,
)
from taller.teaching.selectors import cohort_or_404


@role_required(is_staff_member)
def gradebook_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    return render(request, "teaching/gradebook.html", {"gradebook": cohort_gradebook(cohort)})


# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _safe(text: str) -> str:
    """A cell a spreadsheet shows as text, whatever a student typed into their name."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: float | None) -> str:
    if value is None:
        return ""
    rounded = round(value, 2)
    return str(int(rounded)) if rounded.is_integer() else str(rounded)


@role_required(is_staff_member)
def gradebook_csv_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    gradebook = cohort_gradebook(cohort)
    filename = f"calificaciones-{slugify(cohort.name) or cohort.pk}.csv"
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )
    # A byte order mark, so spreadsheets open the accents as UTF-8.
    response.write("\ufeff")
    writer = csv.writer(response)
    header = [_("usuario"), _("nombre"), _("email")]
    raw, penalty = _("bruto"), _("penalización %")
    for column in gradebook.columns:
        slug = column.exercise.slug
        header += [slug, f"{slug} {raw}", f"{slug} {penalty}"]
    header.append(_("total"))
    writer.writerow([_safe(h) for h in header])
    for row in gradebook.rows:
        student = row.student
        line = [_safe(student.username), _safe(student.get_full_name()), _safe(student.email)]
        for cell in row.cells.values():
            line += [
                _number(cell.best_score),
                _number(cell.raw_score),
                _number(cell.penalty_percent) if cell.best_score is not None else "",
            ]
        line.append(_number(row.total))
        writer.writerow(line)
    return response


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    count: int
    full_marks: bool

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def count_y(self) -> float:
        return round(self.y - 4, 1)


@dataclass(frozen=True)
class Histogram:
    stats: ExerciseStats
    bars: list[Bar]
    width: int
    height: int
    # Where the bars stand, above the bin labels.
    baseline: float

    @property
    def label_y(self) -> float:
        return self.baseline + 18


def _histogram(stats: ExerciseStats) -> Histogram:
    """Bar geometry for the score distribution, drawn by the template as inline SVG."""
    width, height, baseline, top, gap = 320, 170, 140.0, 18.0, 8.0
    slot = width / len(stats.histogram)
    tallest = max((b.count for b in stats.histogram), default=0) or 1
    bars = []
    for i, b in enumerate(stats.histogram):
        h = (baseline - top) * b.count / tallest
        label = "100 %" if b.full_marks else f"{b.low}\u2013{b.high} %"  # an en dash
        bars.append(
            Bar(
                x=round(i * slot + gap / 2, 1),
                y=round(baseline - h, 1),
                width=round(slot - gap, 1),
                height=round(h, 1),
                label=label,
                count=b.count,
                full_marks=b.full_marks,
            )
        )
    return Histogram(stats=stats, bars=bars, width=width, height=height, baseline=baseline)


@role_required(is_staff_member)
def dashboard_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    dashboard = cohort_dashboard(cohort)
    return render(
        request,
        "teaching/dashboard.html",
        {
            "dashboard": dashboard,
            "cohort": cohort,
            "charts": [_histogram(stats) for stats in dashboard.exercises],
        },
    )


@role_required(is_staff_member)
def student_view(request: HttpRequest, cohort_id: int, user_id: int) -> HttpResponse:
    cohort = cohort_or_404(request.user, cohort_id)
    student = cohort_student(cohort, user_id)
    if student is None:
        raise Http404
    return render(
        request,
        "teaching/student.html",
        {
            "cohort": cohort,
            "student": student,
            "exercises": cohort_student_attempts(cohort, student),
        },
    )
