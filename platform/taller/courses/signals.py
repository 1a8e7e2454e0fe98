"""A changed exercise leaves the cache (selectors.exercise_get), whoever changed it.

Receivers rather than calls in each service, because exercises also change in the Django
admin and through bulk syncs. The entry goes now and again once the transaction commits:
a request between the two could otherwise cache the row as it was before the commit.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from taller.courses.models import Exercise, GraderVersion
from taller.courses.selectors import exercise_cache_key


def _forget(slug: str) -> None:
    key = exercise_cache_key(slug)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


@receiver([post_save, post_delete], sender=Exercise)
def exercise_changed(sender: type[Exercise], instance: Exercise, **kwargs: Any) -> None:
    _forget(instance.slug)


@receiver([post_save, post_delete], sender=GraderVersion)
def version_changed(sender: type[GraderVersion], instance: GraderVersion, **kwargs: Any) -> None:
    slug = Exercise.objects.filter(pk=instance.exercise_id).values_list("slug", flat=True).first()
    if slug is not None:
        _forget(slug)
