"""Celery tasks: load by id, call a service."""

from __future__ import annotations

from celery import shared_task

from taller.lti import services

# Celery's own retries first; beyond them the row stays failed and visible, and the beat
# task `taller.lti_scores_owed` sends it again when its wait is over.
SEND_RETRIES = 5


@shared_task(bind=True, name=services.SEND_SCORE, acks_late=True, max_retries=SEND_RETRIES)
def send_score(self, sync_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = services.score_send(sync_id)
    if outcome == "failed" and self.request.retries < SEND_RETRIES:
        raise self.retry(countdown=services.retry_delay(self.request.retries + 1))
    if outcome == "busy" and self.request.retries < SEND_RETRIES:
        raise self.retry(countdown=services.SCORE_LEASE.total_seconds())
    return outcome


@shared_task(name="taller.lti_scores_owed")
def scores_owed() -> list[int]:
    return services.scores_owed()


@shared_task(name=services.SYNC_ROSTER, acks_late=True)
def sync_roster(link_id: int) -> int:
    return services.roster_sync(link_id)


@shared_task(name="taller.lti_nonces_prune")
def nonces_prune() -> int:
    return services.nonces_prune()
