"""Writes: ask for a cohort's similarity report, and make it (on the `heavy` queue).

A report is asked for once per set of inputs: asking again while nothing changed finds
the same report (queued, running or done) instead of analysing twice; a student's new
attempt changes the inputs, and the next request makes a new report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from taller.accounts.models import User
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise
from taller.grading import dispatch
from taller.similarity import engine, selectors
from taller.similarity.models import SimilarityReport, SimilarPair
from taller.submissions.models import Submission

logger = logging.getLogger(__name__)

# The task that makes a report (tasks.py), sent by name.
ANALYSE_SIMILARITY = "taller.analyse_similarity"

# Why a report failed: the codes stored on it (the pages word them).
FAILURES = ("engine-missing", "engine-failed", "timeout", "bad-output", "lost", "internal")


@dataclass(frozen=True)
class Requested:
    report: SimilarityReport
    created: bool  # False: an equal report already existed (cached, or on its way)


def _stuck_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.TALLER_SIMILARITY_TIMEOUT * 2 + 60)


def similarity_request(
    *,
    cohort: Cohort,
    exercise: Exercise,
    include_earlier: bool = False,
    requested_by: User | None = None,
) -> Requested:
    """The report for what the cohort has submitted now: the existing one if its inputs are
    the same and it has not failed, else a new one queued for analysis."""
    with transaction.atomic():
        # One request at a time per cohort: two clicks make one report, not two.
        Cohort.objects.select_for_update().filter(pk=cohort.pk).first()
        compared = selectors.compared_submissions(cohort, exercise, include_earlier=include_earlier)
        versions = selectors.template_versions(exercise, compared)
        key = selectors.inputs_key(compared, versions)
        existing = (
            SimilarityReport.objects.select_for_update()
            .filter(
                cohort=cohort,
                exercise=exercise,
                include_earlier=include_earlier,
                inputs_key=key,
            )
            .exclude(state=SimilarityReport.State.FAILED)
            .order_by("-created_at", "-id")
            .first()
        )
        if existing is not None:
            moving = existing.state in (
                SimilarityReport.State.QUEUED,
                SimilarityReport.State.RUNNING,
            )
            if moving and (existing.started_at or existing.created_at) < _stuck_before():
                # Its worker died: say so, and start again.
                _fail(existing, "lost", "")
            else:
                return Requested(existing, created=False)
        report = SimilarityReport.objects.create(
            cohort=cohort,
            exercise=exercise,
            include_earlier=include_earlier,
            inputs_key=key,
            entries=[c.as_json() for c in compared],
            template_versions=versions,
            requested_by=requested_by,
        )
        _enqueue(report.pk)
    return Requested(report, created=True)


def _enqueue(report_id: int) -> None:
    # By name (grading/dispatch.py): a Celery worker of the heavy queue, or the embedded
    # server's thread pool (registered in apps.py).
    transaction.on_commit(lambda: dispatch.send(ANALYSE_SIMILARITY, report_id, queue="heavy"))


def _fail(report: SimilarityReport, code: str, detail: str) -> None:
    report.state = SimilarityReport.State.FAILED
    report.error_code = code
    report.error_detail = detail[:4000]
    report.finished_at = timezone.now()
    report.save(update_fields=["state", "error_code", "error_detail", "finished_at"])


class _Progress:
    """Writes the engine's progress on the report, at most a few times a second."""

    def __init__(self, report_id: int) -> None:
        self.report_id = report_id
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        SimilarityReport.objects.filter(pk=self.report_id).update(
            progress={"stage": stage, "done": done, "total": total}
        )


def similarity_run(report_id: int) -> SimilarityReport | None:
    """Analyse a queued report. A second delivery of the same task does nothing."""
    with transaction.atomic():
        report = SimilarityReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.state != SimilarityReport.State.QUEUED:
            return None
        report.state = SimilarityReport.State.RUNNING
        report.started_at = timezone.now()
        report.progress = {"stage": "collect", "done": 0, "total": len(report.entries)}
        report.save(update_fields=["state", "started_at", "progress"])
    try:
        analysis = _analyse(report)
    except engine.EngineError as exc:
        logger.warning("similarity report %s failed: %s", report_id, exc)
        return _finish_failed(report_id, exc.code, exc.detail)
    except Exception as exc:  # the platform failed: the report says so, the worker goes on
        logger.exception("similarity report %s failed", report_id)
        return _finish_failed(report_id, "internal", f"{exc.__class__.__name__}: {exc}")
    with transaction.atomic():
        report = SimilarityReport.objects.select_for_update().get(pk=report_id)
        if report.state != SimilarityReport.State.RUNNING:
            return report  # taken as lost meanwhile: its replacement stands
        SimilarPair.objects.filter(report=report).delete()
        SimilarPair.objects.bulk_create(
            [
                SimilarPair(
                    report=report,
                    left_id=int(p.left),
                    right_id=int(p.right),
                    similarity=p.similarity,
                    longest=p.longest,
                    longest_lines=p.longest_lines,
                    overlap=p.overlap,
                    left_covered=p.left_covered,
                    right_covered=p.right_covered,
                    left_total=p.left_total,
                    right_total=p.right_total,
                    fragments=[
                        {
                            "kgrams": f.kgrams,
                            "left": [vars(s) for s in f.left],
                            "right": [vars(s) for s in f.right],
                        }
                        for f in p.fragments
                    ],
                )
                for p in analysis.pairs
            ],
            batch_size=500,
        )
        report.state = SimilarityReport.State.DONE
        report.engine = analysis.engine
        report.finished_at = timezone.now()
        total = len(report.entries)
        report.progress = {"stage": "done", "done": total, "total": total}
        report.save(update_fields=["state", "engine", "finished_at", "progress"])
    return report


def _finish_failed(report_id: int, code: str, detail: str) -> SimilarityReport | None:
    with transaction.atomic():
        report = SimilarityReport.objects.select_for_update().get(pk=report_id)
        if report.state == SimilarityReport.State.RUNNING:
            _fail(report, code, detail)
    return report


def _analyse(report: SimilarityReport) -> engine.Analysis:
    ids = [e["submission"] for e in report.entries]
    files = dict(Submission.objects.filter(pk__in=ids).values_list("id", "files"))
    entries = [
        engine.Entry(
            key=str(e["submission"]),
            files=files[e["submission"]],
            group="earlier" if e.get("earlier") else "current",
        )
        for e in report.entries
        if e["submission"] in files  # a student deleted since: left out
    ]
    if len(entries) < 2:
        # Nothing to compare with: no process to start.
        return engine.Analysis({"name": "dolos", "version": selectors.engine_version()}, [])
    return engine.analyse(
        entries,
        template=selectors.template_files(report.template_versions),
        tool_dir=settings.TALLER_SIMILARITY_DIR,
        floor=settings.TALLER_SIMILARITY_FLOOR,
        timeout=settings.TALLER_SIMILARITY_TIMEOUT,
        node=settings.TALLER_NODE,
        on_progress=_Progress(report.pk),
    )
