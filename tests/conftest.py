from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test's database is rolled back; what the cache holds of it must go too."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def course(db: None) -> None:
    """The real course content from exercises/ and graders/, synced."""
    call_command("sync_exercises", verbosity=0)


@pytest.fixture
def repo() -> Path:
    return REPO
