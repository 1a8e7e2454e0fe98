"""The grader suite is code too (instructors upload it): it runs confined.

Each check is written as a grader test that passes only if the confinement holds, and
graded through the real runner.
"""

from __future__ import annotations

from pathlib import Path

from taller_grader.results import RunStatus
from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, grade

from .conftest import requires_sandbox

REPO = Path(__file__).resolve().parents[2]

SUITE = """
import ctypes, errno, os, pytest

def test_the_filesystem_is_read_only():
    for path in ("/suite/x", "/x", "/usr/x"):
        with pytest.raises(OSError):
            open(path, "w")

def test_the_hosts_secrets_are_not_there():
    assert not os.path.exists("/etc/shadow") and not os.path.exists("/etc/passwd")
    # Only the Python installation is bound in (pyenv lives under /root on some hosts).
    assert not os.path.exists("/root") or set(os.listdir("/root")) <= {".pyenv"}
    assert not any(k in os.environ for k in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"))
    with open("/proc/1/environ", "rb") as own:  # pid 1 is this sandbox's, not the host's
        assert b"SECRET_KEY" not in own.read()

def test_ptrace_and_new_namespaces_are_refused():
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.ptrace(16, 1, 0, 0) == -1  # PTRACE_ATTACH to pid 1
    assert libc.unshare(0x10000000) == -1  # CLONE_NEWUSER

def test_memory_is_bounded():
    with pytest.raises(MemoryError):
        bytearray(3 << 30)
"""


@requires_sandbox
def test_a_suite_cannot_write_read_secrets_trace_or_eat_the_memory() -> None:
    spec = ExerciseSpec(
        slug="confinement",
        programs=(
            ProgramSpec(name="main", command=("node", "-e", "0"), port=None, autostart=False),
        ),
        suite_files={"test_confinement.py": SUITE},
    )
    results = grade(spec, {"main.js": b""}, RunnerConfig(runtime_dir=REPO / "runtime"))
    assert results.status is RunStatus.PASSED, [(t.name, t.output) for t in results.tests]
