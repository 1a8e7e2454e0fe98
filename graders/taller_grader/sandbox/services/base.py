"""What every per-run service offers, and how its resources are named.

Every resource a run gets (database, role, vhost, user, server directory) is named
`<prefix><hex unix time>_<random>`: random, so a run cannot guess another run's names
(a sandboxed PostgreSQL role can list `pg_database`); recognisable by the prefix, so the
janitor finds what a crashed worker left; dated, so the janitor of one worker never
removes what another worker is using right now.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from taller_grader.sandbox.api import SandboxError, ServiceGrant

DEFAULT_PREFIX = "tlr_"
# Longer than any run can last (wall limits are seconds to a few minutes).
DEFAULT_SWEEP_AGE = 15 * 60.0


class ServiceError(SandboxError):
    """A per-run service could not be provided or removed (a platform fault)."""


@runtime_checkable
class RunService(Protocol):
    """One kind of per-run service (PostgreSQL, RabbitMQ, MongoDB)."""

    name: str

    def provision(self, run_id: str, netns_path: str) -> ServiceGrant:
        """Create the run's resources and make them reachable from its namespace only."""

    def grader_env(self, run_id: str) -> Mapping[str, str]:
        """How the grader suite (on the host) reaches the same resources."""

    def release(self, run_id: str) -> None:
        """Remove everything `provision` made. Safe to call twice, or after a failure."""

    def sweep(self, min_age_seconds: float | None = None) -> list[str]:
        """Remove leftovers of crashed runs older than `min_age_seconds`; their names."""

    def close(self) -> None:
        """Release every run still held, and stop what this object started."""


def new_name(prefix: str = DEFAULT_PREFIX) -> str:
    """A fresh resource name: lowercase, <= 30 chars, valid as an identifier anywhere."""
    return f"{prefix}{int(time.time()):x}_{secrets.token_hex(6)}"


def new_password() -> str:
    # Hex only: safe in URLs, DSNs and shell lines without any quoting.
    return secrets.token_hex(16)


def name_age(name: str, prefix: str = DEFAULT_PREFIX) -> float | None:
    """Seconds since `name` was made, or None if it is not one of ours."""
    m = re.fullmatch(re.escape(prefix) + r"([0-9a-f]{8,})_[0-9a-f]{12}", name)
    if m is None:
        return None
    return time.time() - int(m.group(1), 16)


def is_stale(name: str, prefix: str, min_age_seconds: float) -> bool:
    age = name_age(name, prefix)
    return age is not None and age >= min_age_seconds
