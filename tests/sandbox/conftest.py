"""Shared helpers for the sandbox tests: skip reasons, a clean-up check, an honest run."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from taller_grader.sandbox import Limits, cgroups, netns, open_sandbox
from taller_grader.sandbox.bwrap import BwrapSandbox

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime"
HOSTILE = Path(__file__).resolve().parent / "hostile"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the bwrap backend needs root (cgroups, netns, tmpfs mounts)"
    if not Path("/usr/bin/bwrap").exists():
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if shutil.which("node") != "/usr/bin/node":
        return "node is not at /usr/bin/node"
    if not (RUNTIME / "node_modules" / "express").is_dir():
        return "runtime/node_modules is missing (cd runtime && npm ci --ignore-scripts)"
    try:
        cgroups.detect()
    except Exception as exc:
        return f"no usable cgroups: {exc}"
    return None


MISSING = _missing()
needs_sandbox = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
# Only the unified hierarchy is mounted (scripts/cgroup2-vm.sh runs the suite so).
UNIFIED_ONLY = MISSING is None and cgroups.layout().version == 2
# Emulated (scripts/cgroup2-vm.sh where KVM is not the CPU's own) a program takes several
# times as long: the wall-clock and CPU-time bounds these tests give runs, and their
# waits, are stretched by this factor, so that a limit still ends what it is meant to.
SLOWDOWN = float(os.environ.get("TALLER_TEST_SLOWDOWN", "1"))


def stretched(limits: Limits) -> Limits:
    return replace(
        limits,
        wall_seconds=limits.wall_seconds * SLOWDOWN,
        cpu_seconds=limits.cpu_seconds * SLOWDOWN,
    )


def processes_of(uid: int, *, zombies: bool = True) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("State:") and "Z" in line.split()[1] and not zombies:
                        break
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry.name))
                        break
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def assert_clean(sandbox: BwrapSandbox) -> None:
    """Nothing of the run is left: processes, cgroups, netns, mounts, dirs."""
    deadline = time.monotonic() + 2.0
    while processes_of(sandbox.host_uid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert processes_of(sandbox.host_uid) == [], "processes left behind"
    for hierarchy in cgroups.detect().hierarchies.values():
        assert not (hierarchy.parent / sandbox.name).exists(), "cgroup left behind"
    for path in sandbox.cgroup._dirs():
        assert not path.exists(), f"cgroup {path} left behind"
    assert not Path(netns.NETNS_DIR, sandbox.name).exists(), "netns left behind"
    assert not sandbox.run_dir.exists(), "run dir left behind"
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        assert sandbox.name not in f.read(), "mount left behind"


def honest_run() -> None:
    """A plain program still runs normally (the previous run harmed nothing)."""
    with open_sandbox({"ok.js": b"console.log(6 * 7)"}, Limits(), runtime_dir=RUNTIME) as sb:
        info = sb.start(["node", "ok.js"]).wait(10)
        assert info is not None and info.ok, info
        assert sb.programs[0].output().stdout == "42\n"
    assert_clean(sb)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    yield RUNTIME
