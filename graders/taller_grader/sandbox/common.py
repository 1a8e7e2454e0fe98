"""What every sandbox backend agrees on: the layout inside, grant rules, the environment.

bubblewrap and containers must give a program the same world, or a solution graded on
one host would fail on another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from taller_grader.sandbox.api import Limits, SandboxError, ServiceGrant

INSIDE_UID = 1000
INSIDE_WORKDIR = "/work"
INSIDE_TMP = "/tmp"
PORT = 3000
# A grant may not cover the runtime's own tree, nor the run's writable folders.
RESERVED_INSIDE = ("/usr", "/proc", "/dev", "/etc", "/node_modules", "/bin", "/lib", "/lib64")


def default_state_dir() -> Path:
    # Root-only, unlike /tmp, where anyone could plant a run's name first.
    return Path(os.environ.get("TALLER_SANDBOX_DIR", "/run/taller"))


def rmdirs(paths: Sequence[Path], errors: list[str]) -> None:
    """Remove our own empty dirs, in order; one already gone is fine, others are noted."""
    for path in paths:
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            errors.append(f"rmdir {path}: {exc}")


def check_grants(grants: Sequence[ServiceGrant]) -> None:
    for grant in grants:
        for host, inside in grant.binds:
            normal = os.path.normpath(inside)
            if not inside.startswith("/") or normal != inside.rstrip("/") or normal == "/":
                raise SandboxError(f"grant bind target {inside!r} is not a clean path")
            covered = (*RESERVED_INSIDE, INSIDE_WORKDIR, INSIDE_TMP)
            if any(normal == r or normal.startswith(r + "/") for r in covered):
                raise SandboxError(f"grant bind target {inside!r} is reserved")
            if not os.path.isabs(host):
                raise SandboxError(f"grant bind source {host!r} is not absolute")


def program_env(
    limits: Limits,
    grants: Sequence[ServiceGrant],
    env: Mapping[str, str] | None,
    *,
    node_sees_cgroup: bool = False,
) -> dict[str, str]:
    """A cleared environment: the basics, the grants' variables, then the caller's.

    `node_sees_cgroup`: the backend shows the program its memory cgroup where libuv
    looks, so Node sizes its heap from the run's limit by itself.
    """
    merged = {
        "PATH": "/usr/bin:/bin",
        "HOME": INSIDE_WORKDIR,
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PORT": str(PORT),
    }
    for grant in grants:
        merged.update(grant.env)
    merged.update(env or {})
    if node_sees_cgroup:
        return merged
    # Otherwise V8 sizes its heap from the machine: cap it so that a runaway heap ends in
    # a clear "heap out of memory". A flag, though, costs every start ~13 ms.
    heap = max(16, limits.memory_mb * 3 // 4)
    options = f"--max-old-space-size={heap}"
    merged["NODE_OPTIONS"] = f"{options} {merged.get('NODE_OPTIONS', '')}".strip()
    return merged
