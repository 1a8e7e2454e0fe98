"""The grader suite is code too (instructors upload it): it runs confined.

Each check is written as a grader test that passes only if the confinement holds, and
graded through the real runner.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taller_grader.results import RunStatus
from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, grade
from taller_grader.sandbox import cgroups
from taller_grader.sandbox.shell import POOL

from .conftest import end_to_end

REPO = Path(__file__).resolve().parents[2]

SUITE = """
import ctypes, errno, os, pytest, time

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

def test_forking_is_bounded():
    with pytest.raises(BlockingIOError):
        for _ in range(1000):
            if os.fork() == 0:
                time.sleep(120)
                os._exit(0)
"""


# Which interpreter ran the suite: one started with its arguments, or ahead of the run.
STARTED = """
import sys

def test_started_as_expected():
    assert sys.argv[0].endswith("entry.py")
    assert (len(sys.argv) == 1) is {warm!r}
"""


def _spec(warm: bool) -> ExerciseSpec:
    return ExerciseSpec(
        slug="confinement",
        programs=(
            ProgramSpec(name="main", command=("node", "-e", "0"), port=None, autostart=False),
        ),
        suite_files={
            "test_confinement.py": SUITE,
            "test_started.py": STARTED.format(warm=warm),
        },
    )


def _suite_cgroups() -> list[str]:
    """This process's suite cgroups (a worker killed elsewhere leaves its own to the janitor)."""
    return [
        path.name
        for hierarchy in cgroups.layout().hierarchies.values()
        for path in hierarchy.parent.glob(f"taller-{os.getpid()}-*_suite")
    ]


def _ours(pid: int) -> bool:
    """Started by this test process: a descendant of it, or in one of its cgroups (an
    orphan of a killed bwrap, reparented, is still in its run's cgroup)."""
    me = os.getpid()
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8") as groups:
            if f"taller-{me}-" in groups.read():
                return True
        while pid > 1:
            if pid == me:
                return True
            with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
                # The parent pid comes after the command's closing parenthesis.
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return False
    return False


def _warm_suites() -> list[int]:
    """This test's warm suite processes only: a dev server or a worker running beside
    `make test` has its own, which are none of this test's business."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    if b"taller_grader.sdk.entry" in cmdline.read() and _ours(int(entry.name)):
                        pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@end_to_end
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_suite_cannot_write_read_secrets_trace_or_eat_the_memory(
    warm: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of starting a suite confine it the same way."""
    POOL.drain()
    monkeypatch.setattr(POOL, "enabled", warm)
    config = RunnerConfig(runtime_dir=REPO / "runtime")
    if warm:
        # The first run builds the next run's shell, with a suite interpreter waiting.
        grade(_spec(warm), {"main.js": b""}, config)
        assert POOL.settle(timeout=30)
    results = grade(_spec(warm), {"main.js": b""}, config)
    assert results.status is RunStatus.PASSED, [(t.name, t.output) for t in results.tests]
    POOL.drain()
    assert _suite_cgroups() == []
    # Killed bwraps take their namespace's processes with them a moment later.
    deadline = time.monotonic() + 5
    while _warm_suites() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _warm_suites() == []


PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37


@contextlib.contextmanager
def _not_a_subreaper() -> Iterator[None]:
    """A sandbox made this process its children's subreaper (sandbox/bwrap.py): an orphan
    of its own children comes back to it, as a stranger's never would. Not while this lasts."""
    libc = ctypes.CDLL(None, use_errno=True)
    was = ctypes.c_int(0)
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(was), 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, was.value, 0, 0, 0)


def test_warm_suites_of_another_process_on_the_machine_are_not_counted() -> None:
    """`make run` serving beside `make test` has warm suites of its own (issue 18, 16)."""
    import subprocess
    import sys

    # Double fork: the stranger's parent is not this test, as a dev server's would not be.
    # Its output goes elsewhere: holding the launcher's pipe, it would keep the launcher
    # from returning until it had ended, and be looked for only once dead.
    with _not_a_subreaper():
        launcher = subprocess.run(
            [
                sys.executable,
                "-c",
                "import subprocess, sys; print(subprocess.Popen([sys.executable, '-c', "
                "'import time; time.sleep(30)', '-m', 'taller_grader.sdk.entry'], "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, "
                "start_new_session=True).pid)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    stranger = int(launcher.stdout)
    try:
        assert os.path.exists(f"/proc/{stranger}")  # alive while looked for
        assert stranger not in _warm_suites()
    finally:
        os.kill(stranger, 9)


# A suite that passes its one test, then ends badly in one of two ways: pytest's own exit
# status says so (reported on the events pipe), or the interpreter dies without a word.
ENDINGS = {
    "status": "def pytest_sessionfinish(session):\n    session.exitstatus = 4\n",
    "death": "import os\n\ndef pytest_unconfigure(config):\n    os._exit(9)\n",
}


@end_to_end
@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_suite_that_ends_badly_after_its_tests_is_the_platforms_fault(
    ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The verdict does not wait for the suite's process to exit, yet a suite that fails
    after reporting every test is still not taken at its word. What went wrong is for the
    staff's logs; the student's document says only that the platform failed."""
    spec = ExerciseSpec(
        slug="ending",
        programs=(ProgramSpec(name="main", command=("node", "-e", "0"), port=None),),
        suite_files={
            "conftest.py": ENDINGS[ending],
            "test_one.py": "def test_one():\n    assert 1 + 1 == 2\n",
        },
    )
    with caplog.at_level("WARNING", logger="taller_grader.runner"):
        results = grade(spec, {"main.js": b""}, RunnerConfig(runtime_dir=REPO / "runtime"))
    assert results.status is RunStatus.INTERNAL_ERROR
    cause = "exited with code 4" if ending == "status" else "exited with code 9"
    assert cause in caplog.text
    assert results.reason is not None and results.reason.code == "platform-failed"
    assert "exited" not in results.to_json() and "No es culpa tuya" in results.output


@end_to_end
def test_a_failed_assertion_reads_the_same_from_the_cached_rewritten_module() -> None:
    """The suite's module is rewritten once per text in the worker; its failures still
    show pytest's explanation of the comparison, and a change to the text is seen."""
    config = RunnerConfig(runtime_dir=REPO / "runtime")

    def failure(expected: int) -> str:
        spec = ExerciseSpec(
            slug="rewritten",
            programs=(ProgramSpec(name="main", command=("node", "-e", "0"), port=None),),
            suite_files={
                "test_one.py": f"def test_one():\n    x = 1\n    assert x + 1 == {expected}\n"
            },
        )
        results = grade(spec, {"main.js": b""}, config)
        [test] = results.tests
        return test.output

    # Pytest's explanation, the variable's value filled in: the module was rewritten.
    assert failure(3) == "assert (1 + 1) == 3"
    assert failure(5) == "assert (1 + 1) == 5"
