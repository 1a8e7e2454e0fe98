"""What every per-run service offers, and how its resources are named.

Every resource a run gets (database, role, vhost, user, server directory) is named
`<prefix><hex unix time>_<random>`: random, so a run cannot guess another run's names
(a sandboxed PostgreSQL role can list `pg_database`); recognisable by the prefix, so the
janitor finds what a crashed worker left; dated, so the janitor of one worker never
removes what another worker is using right now.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
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


def stale(names: Iterable[str], live: Collection[str], prefix: str, min_age: float) -> list[str]:
    """What the janitor may remove: ours, older than `min_age` seconds, held by no run
    of this worker (sorted)."""
    return [n for n in sorted(set(names)) if n not in live and is_stale(n, prefix, min_age)]


def release_all(service: RunService, run_ids: Iterable[str]) -> None:
    """`close()`'s first step: every run still held, released (a failure to release one
    does not keep the others)."""
    for run_id in list(run_ids):
        with contextlib.suppress(ServiceError):
            service.release(run_id)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def kill_group(pid: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """Stop a run's server and all it started, and wait until it is gone. SIGKILL at
    once: its data is thrown away, and a graceful stop takes seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        return
    # Not our child (forked by a launcher, or left by a crashed worker): the kernel or
    # init reaps it.
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.005)


def sweep_server_dirs(
    root: Path, live: Collection[str], prefix: str, min_age: float, pidfile: str
) -> list[str]:
    """Remove the directories (and their servers) of runs a crashed worker left under
    `root`; their names."""
    if not root.is_dir():
        return []
    removed = stale((d.name for d in root.iterdir()), live, prefix, min_age)
    for name in removed:
        directory = root / name
        with contextlib.suppress(OSError, ValueError):
            pid = int((directory / pidfile).read_text())
            # Only a process still working in this very directory: the pid may have been
            # reused since the crash.
            if os.readlink(f"/proc/{pid}/cwd") == str(directory.resolve()):
                kill_group(pid)
        shutil.rmtree(directory, ignore_errors=True)
    return removed
