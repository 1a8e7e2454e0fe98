"""Celery tasks: load by id, call a service. Idempotent through the report's states."""

from __future__ import annotations

from celery import shared_task

from taller.similarity import services


@shared_task(name=services.ANALYSE_SIMILARITY, acks_late=True)
def analyse_similarity(report_id: int) -> str | None:
    report = services.similarity_run(report_id)
    return report.state if report else None
