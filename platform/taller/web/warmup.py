"""A web process's start: what its first requests would otherwise pay for, done up front.

Measured under load (bench/scale.py): a new Daphne process spent 200 to 300 ms on its first
page (templates compiled, URL patterns and translation catalogues loaded), and every
request waiting behind it paid too. Afterwards, the collector's full passes over the
hundreds of thousands of objects Django, Channels and their libraries leave in memory
took 70 to 100 ms each, several times a minute, stopping every request in flight. Freezing
what exists once the process is ready moves those objects out of the collector's way
for good: they live as long as the process anyway.

Under gunicorn (taller/web/gunicorn_conf.py) the application is loaded once, in the
parent, before it forks the web processes: the warm-up and a first freeze happen there,
and what cannot cross a fork (the database pool's connections and threads, the cache's
sockets) is opened in each process after it (`settle`, from gunicorn's post_fork).
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.template import engines
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation

logger = logging.getLogger(__name__)


def site_templates() -> list[str]:
    """The project's own templates (the Django admin's are left to load when used)."""
    names: list[str] = []
    for engine in settings.TEMPLATES:
        directories: list[str | Path] = engine.get("DIRS", [])  # type: ignore[assignment]
        for directory in directories:
            root = Path(directory)
            names += sorted(str(p.relative_to(root)) for p in root.rglob("*.html"))
    return names


def open_connections() -> None:
    """The database pool and the cache's connections, opened now, where the web process
    has a pool (production): a second web process's first requests waited 100+ ms for
    them. A database that is not there yet is no reason not to start; requests retry."""
    if not connection.settings_dict.get("OPTIONS", {}).get("pool"):
        return
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        logger.warning("database not reachable at start: %s", exc)
    finally:
        connection.close()  # back to the pool
    cache.get("warm-up")  # a cache that is down is a miss (settings: IGNORE_EXCEPTIONS)


# Set by a server that loads the application before forking its web processes
# (gunicorn_conf.py): then each process settles after the fork, not the parent before it.
settle_after_fork = False


def warm_up() -> None:
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            # Loads the URL patterns (per language) and the translation catalogue.
            reverse("home")
    for name in site_templates():
        get_template(name)
    logger.debug("warmed up %d templates in %d engines", len(site_templates()), len(engines.all()))
    if settle_after_fork:
        # Frozen before the fork, the objects stay out of every process's collections,
        # which would otherwise also copy the memory pages they share with the parent.
        _freeze()
    else:
        settle()


def settle() -> None:
    """The web process's own connections, then whatever it holds frozen."""
    open_connections()
    _freeze()


def _freeze() -> None:
    # What is garbage now goes; what is left lives as long as the process.
    gc.collect()
    gc.freeze()
