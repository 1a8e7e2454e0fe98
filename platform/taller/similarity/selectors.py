"""Reads: what a report compares, whether it is still current, and what it found."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from taller.cohorts.models import Cohort
from taller.courses.models import Exercise, GraderVersion
from taller.similarity.models import SimilarityReport, SimilarPair
from taller.submissions.models import Submission


@dataclass(frozen=True)
class Compared:
    """One submission a report compares: a student's latest attempt in one cohort."""

    submission_id: int
    student_id: int
    cohort_id: int
    grader_version_id: int
    earlier: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "submission": self.submission_id,
            "student": self.student_id,
            "cohort": self.cohort_id,
            "earlier": self.earlier,
        }


def _latest(queryset: QuerySet[Submission], *, earlier: bool) -> list[Compared]:
    """Latest own attempt per (cohort, student); regrades carry the same files."""
    seen: set[tuple[int | None, int]] = set()
    out = []
    # Picked in Python, not with DISTINCT ON: the embedded default runs on SQLite.
    rows = (
        queryset.filter(regrade_of__isnull=True)
        .order_by("cohort_id", "student_id", "-submitted_at", "-id")
        .values_list("id", "student_id", "cohort_id", "grader_version_id")
    )
    for pk, student, cohort, version in rows:
        if (cohort, student) in seen:
            continue
        seen.add((cohort, student))
        out.append(Compared(pk, student, cohort, version, earlier))
    return out


def compared_submissions(
    cohort: Cohort, exercise: Exercise, *, include_earlier: bool = False
) -> list[Compared]:
    """Each enrolled student's latest attempt at the exercise; with `include_earlier`, the
    latest attempts of students of the same course's earlier cohorts too (but not a
    student's own earlier attempts: someone taking the course again may reuse their code)."""
    current = _latest(
        Submission.objects.filter(
            cohort=cohort, exercise=exercise, student__enrollments__cohort=cohort
        ),
        earlier=False,
    )
    if not include_earlier:
        return current
    students = {c.student_id for c in current}
    earlier = [
        c
        for c in _latest(
            Submission.objects.filter(
                exercise=exercise,
                cohort__course_id=cohort.course_id,
                cohort__starts_on__lt=cohort.starts_on,
            ),
            earlier=True,
        )
        if c.student_id not in students
    ]
    return current + earlier


def template_versions(exercise: Exercise, compared: list[Compared]) -> list[int]:
    """The grader versions whose starter and reference solution are left out of matches:
    every version the compared attempts were made against, and the current one."""
    ids = {c.grader_version_id for c in compared}
    if exercise.current_version_id:
        ids.add(exercise.current_version_id)
    return sorted(ids)


def template_files(version_ids: list[int]) -> dict[str, str]:
    """Starter and reference solution of those versions, each text once."""
    files: dict[str, str] = {}
    seen: set[str] = set()
    versions = GraderVersion.objects.filter(pk__in=version_ids).order_by("pk")
    for version in versions.only("number", "starter_files", "solution_files"):
        kinds = (("starter", version.starter_files), ("solution", version.solution_files))
        for kind, group in kinds:
            for path, text in sorted(group.items()):
                if isinstance(text, str) and text not in seen:
                    seen.add(text)
                    files[f"v{version.number}/{kind}/{path}"] = text
    return files


@cache
def engine_version() -> str:
    """The Dolos version the tool folder pins (part of every report's cache key)."""
    lock = settings.TALLER_SIMILARITY_DIR / "package-lock.json"
    try:
        packages = json.loads(lock.read_text())["packages"]
        return str(packages["node_modules/@dodona/dolos-lib"]["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def inputs_key(compared: list[Compared], versions: list[int]) -> str:
    """What decides a report's result: the same key, the same pairs."""
    document = {
        "entries": [[c.submission_id, c.earlier] for c in compared],
        "template": versions,
        "engine": engine_version(),
        "floor": settings.TALLER_SIMILARITY_FLOOR,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def current_inputs_key(cohort: Cohort, exercise: Exercise, *, include_earlier: bool) -> str:
    compared = compared_submissions(cohort, exercise, include_earlier=include_earlier)
    return inputs_key(compared, template_versions(exercise, compared))


def latest_report(
    cohort: Cohort, exercise: Exercise, *, include_earlier: bool = False
) -> SimilarityReport | None:
    return (
        SimilarityReport.objects.filter(
            cohort=cohort, exercise=exercise, include_earlier=include_earlier
        )
        .select_related("exercise", "cohort")
        .order_by("-created_at", "-id")
        .first()
    )


def report_get(cohort: Cohort, report_id: int) -> SimilarityReport | None:
    return (
        SimilarityReport.objects.filter(cohort=cohort, pk=report_id)
        .select_related("exercise", "cohort")
        .first()
    )


def cohort_exercises(cohort: Cohort) -> QuerySet[Exercise]:
    return Exercise.objects.filter(section__course_id=cohort.course_id).order_by(
        "section__number", "order", "slug"
    )


# --- what a report found ------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    submission_id: int
    student_id: int
    name: str
    username: str
    cohort_name: str
    earlier: bool


@dataclass(frozen=True)
class PairRow:
    pair: SimilarPair
    left: Side
    right: Side

    @property
    def percent(self) -> int:
        return round(self.pair.similarity * 100)

    @property
    def left_percent(self) -> int:
        return _percent(self.pair.left_covered, self.pair.left_total)

    @property
    def right_percent(self) -> int:
        return _percent(self.pair.right_covered, self.pair.right_total)


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


@dataclass
class Cluster:
    """Students joined by pairs above the threshold (connected components)."""

    members: list[Side]
    pairs: int
    top: float
    mean: float = 0.0
    pair_ids: list[int] = field(default_factory=list)

    @property
    def top_percent(self) -> int:
        return round(self.top * 100)

    @property
    def mean_percent(self) -> int:
        return round(self.mean * 100)


def _sides(report: SimilarityReport) -> dict[int, Side]:
    earlier = {e["submission"]: bool(e.get("earlier")) for e in report.entries}
    rows = (
        Submission.objects.filter(pk__in=earlier)
        .select_related("student", "cohort")
        .only(
            "id",
            "student__id",
            "student__username",
            "student__first_name",
            "student__last_name",
            "cohort__name",
        )
    )
    return {
        s.pk: Side(
            submission_id=s.pk,
            student_id=s.student_id,
            name=s.student.get_full_name() or s.student.username,
            username=s.student.username,
            cohort_name=s.cohort.name if s.cohort else "",
            earlier=earlier[s.pk],
        )
        for s in rows
    }


def report_pairs(report: SimilarityReport, threshold: float) -> list[PairRow]:
    """Pairs at or above the threshold, most similar first (fragments not loaded)."""
    pairs = list(report.pairs.filter(similarity__gte=threshold).defer("fragments"))
    sides = _sides(report)
    return [
        PairRow(p, sides[p.left_id], sides[p.right_id])
        for p in pairs
        if p.left_id in sides and p.right_id in sides
    ]


def clusters(rows: list[PairRow]) -> list[Cluster]:
    """Groups of students sharing code, biggest and most similar first."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        a, b = find(row.left.submission_id), find(row.right.submission_id)
        if a != b:
            parent[a] = b
    groups: dict[int, Cluster] = {}
    members: dict[int, dict[int, Side]] = {}
    for row in rows:
        root = find(row.left.submission_id)
        cluster = groups.setdefault(root, Cluster(members=[], pairs=0, top=0.0))
        cluster.pairs += 1
        cluster.top = max(cluster.top, row.pair.similarity)
        cluster.mean += row.pair.similarity
        cluster.pair_ids.append(row.pair.pk)
        side_map = members.setdefault(root, {})
        side_map[row.left.submission_id] = row.left
        side_map[row.right.submission_id] = row.right
    out = []
    for root, cluster in groups.items():
        cluster.members = sorted(members[root].values(), key=lambda s: s.name.lower())
        cluster.mean = cluster.mean / cluster.pairs
        out.append(cluster)
    return sorted(out, key=lambda c: (-len(c.members), -c.top))


def pair_get(report: SimilarityReport, pair_id: int) -> SimilarPair | None:
    return report.pairs.filter(pk=pair_id).select_related("left", "right").first()


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    fragments: tuple[int, ...]  # which fragments (1-based) cover this line


@dataclass(frozen=True)
class ShownFile:
    path: str
    lines: list[Line]


def side_by_side(pair: SimilarPair) -> tuple[list[ShownFile], list[ShownFile]]:
    """Both submissions' files, each line marked with the fragments that cover it."""

    def shown(files: dict[str, str], side: str) -> list[ShownFile]:
        marks: dict[tuple[str, int], list[int]] = {}
        for number, fragment in enumerate(pair.fragments, start=1):
            for span in fragment.get(side, []):
                for line in range(span["start"], span["end"] + 1):
                    marks.setdefault((span["path"], line), []).append(number)
        out = []
        for path in sorted(files):
            text = files[path] if isinstance(files[path], str) else ""
            out.append(
                ShownFile(
                    path,
                    [
                        Line(n, line, tuple(marks.get((path, n), ())))
                        for n, line in enumerate(text.splitlines(), start=1)
                    ],
                )
            )
        return out

    return shown(pair.left.files, "left"), shown(pair.right.files, "right")
