from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _course_language() -> Iterator[None]:
    """Each test starts in the course's language. A request that switched to English
    (through the API's ?lang=, a CLI run, a page in English) leaves it active in the
    thread, where the next test's lazily translated messages would read it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
