"""The grader suite's process: pytest under bubblewrap, in a run's network namespace.

Suites are instructors' code (and can be uploaded), so they run unprivileged, with the
students' seccomp filter, a read-only view of Python and the suite, and bounds on memory
and CPU time. They see the run through three paths of an "io" directory that the runner
fills: `/suite` (the test files), `/run.json` (the run's programs and environment) and
`/control` (the socket to ask the runner to start, stop and signal programs).

Starting Python and importing pytest costs about as much as a whole quick suite, so a
suite can also be started *warm*: bwrap and the interpreter start, with pytest and the
SDK imported, before the run exists, in the network namespace of a sandbox shell built
ahead of time (`sandbox/shell.py`), and wait for one line naming pytest's arguments.
Each warm process serves one run and is never reused: nothing carries over between runs.

Each suite process (with everything it forks) has a cgroup of its own, apart from the
student's: bounds on memory and processes that a suite's fork loop cannot escape, and
a sure way to kill all of it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from taller_grader.sandbox import cgroups, netns, seccomp
from taller_grader.sandbox.api import Limits, SandboxError
from taller_grader.sandbox.bwrap import default_state_dir
from taller_grader.sandbox.shell import PREFIX, SH, SUITE_IO_SUFFIX
from taller_grader.sdk.control import ENV_CONTROL
from taller_grader.sdk.plugin import ENV_EVENTS_FD, ENV_PRELOAD, ENV_RUN_INFO

GRADER_UID = 2000
MEMORY_BYTES = 2 << 30  # address space of the suite's process
# A warm suite gets its CPU bound before the run is known: runs whose time limit needs
# more than this start cold instead.
WARM_CPU_SECONDS = 90
# The suite's cgroup: memory with swap, processes (threads count); CPU unbounded, since
# the run's time limit already bounds it and a quota would only slow grading.
CGROUP_LIMITS = Limits(memory_mb=1024, pids=128, cpus=float(os.cpu_count() or 1))
log = logging.getLogger(__name__)
ENTRY = "taller_grader.sdk.entry"
# The suite's command waits behind this for one line on its stdin, sent once the worker
# has moved it into the suite's cgroup (dash reads the line a byte at a time: what
# follows, a warm suite's arguments, is left to Python).
_GATE = (SH, "-c", 'read -r go && exec "$@"', "sh")
PYTEST_ARGS = (
    "-p", "taller_grader.sdk.plugin",
    "-p", "no:cacheprovider",
    "-q", "--no-header", "-rN", "--tb=no", "-o", "console_output_style=classic",
    "/suite",
)  # fmt: skip


# A suite's own pytest settings may ask for what the cache below does not know about
# (enable_assertion_pass_hook): such suites rewrite their own modules.
_INI_FILES = frozenset({"pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"})


def rewritten_pycs(suite_files: Mapping[str, str]) -> dict[str, bytes]:
    """Pytest's assertion-rewritten code of the suite's modules, as the cached pycs pytest
    looks for beside them (`__pycache__/<name>.<tag>-pytest-<version>.pyc`), by path.

    Rewriting rest-api's test module took a third to a half of its collection (25 ms on
    a quiet 2-core host, 50 to 130 ms on a busy one) and gives the same code every time:
    it is done once per suite text in the worker, and each run's suite only loads it.
    Pytest checks the source's hash before it uses one: a stale pyc is only ignored.
    """
    if _INI_FILES & {PurePosixPath(name).name for name in suite_files}:
        return {}
    return dict(_rewritten(tuple(sorted(suite_files.items()))))


@functools.lru_cache(maxsize=64)
def _rewritten(files: tuple[tuple[str, str], ...]) -> tuple[tuple[str, bytes], ...]:
    import ast
    import importlib.util
    import io

    from _pytest.assertion import rewrite

    out = []
    for name, text in files:
        path = PurePosixPath(name)
        if path.suffix != ".py":
            continue
        source = text.encode()
        where = f"/suite/{name}"
        try:
            tree = ast.parse(source, filename=where)
            rewrite.rewrite_asserts(tree, source, where, None)
            code = compile(tree, where, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue  # the suite reports it itself, as it would have
        pyc = io.BytesIO()
        rewrite._write_pyc_fp(pyc, importlib.util.source_hash(source), code)
        cached = path.parent / "__pycache__" / (path.stem + rewrite.PYC_TAIL)
        out.append((str(cached), pyc.getvalue()))
    return tuple(out)


# The clients a suite uses for each per-run service (the SDK's fixtures import them).
SERVICE_MODULES = {
    "postgres": ("psycopg",),
    "mongo": ("pymongo", "bson"),
    "rabbitmq": ("amqp",),
}


def preload_for(services: Sequence[str]) -> tuple[str, ...]:
    """What a warm suite should import ahead for an exercise with these services."""
    return tuple(module for service in services for module in SERVICE_MODULES.get(service, ()))


def cpu_seconds_for(time_limit_seconds: float) -> int:
    return int(time_limit_seconds) + 30


def new_io_dir() -> Path:
    """The directory a suite sees; its entries exist before bwrap binds them.

    In the sandbox's root-only state dir, named after this worker, so that the janitor
    removes it if the worker dies before it does.
    """
    state = default_state_dir()
    state.mkdir(mode=0o755, parents=True, exist_ok=True)
    io_dir = Path(
        tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=SUITE_IO_SUFFIX, dir=state)
    )
    (io_dir / "suite").mkdir()
    (io_dir / "control").mkdir()
    # A file bind pins the inode: the runner later rewrites this file in place.
    (io_dir / "run.json").write_text("{}")
    return io_dir


def _argv(python: str, cpu_seconds: int, io_dir: Path, seccomp_fd: int) -> list[str]:
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parent.parent}
    limits: list[str] = []
    if shutil.which("prlimit"):
        limits = ["prlimit", f"--as={MEMORY_BYTES}", f"--cpu={cpu_seconds}", "--"]
    args = [
        *limits,
        "bwrap",
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--uid", str(GRADER_UID), "--gid", str(GRADER_UID), "--disable-userns",
        "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr",
        "--ro-bind-try", "/etc/ssl", "/etc/ssl",
        # Before the binds below: a checkout under /tmp (as CI's) must stay visible.
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    for root in sorted(roots):
        if not str(root).startswith("/usr"):
            args += ["--ro-bind", str(root), str(root)]
    args += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--ro-bind", str(io_dir / "suite"), "/suite",
        "--ro-bind", str(io_dir / "run.json"), "/run.json",
        "--bind", str(io_dir / "control"), "/control",
        "--remount-ro", "/",
        "--chdir", "/suite",
        "--seccomp", str(seccomp_fd),
        "--",
        python, "-I",
    ]  # fmt: skip
    return args


def _env(write_fd: int, preload: Sequence[str] = ()) -> dict[str, str]:
    return {
        ENV_PRELOAD: ",".join(preload),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Only the SDK's plugin: the platform's own (pytest-django, ...) are not the
        # suite's business, and loading them costs start-up time.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        ENV_EVENTS_FD: str(write_fd),
        ENV_RUN_INFO: "/run.json",
        ENV_CONTROL: "/control/sock",
    }


class SuiteProcess:
    """A suite's process and the read end of its events pipe; owns its io directory."""

    def __init__(
        self,
        netns_path: str,
        python: str,
        cpu_seconds: int,
        io_dir: Path,
        module_args: Sequence[str],
        *,
        warm: bool,
        preload: Sequence[str] = (),
    ) -> None:
        self.io_dir = io_dir
        self.cpu_seconds = cpu_seconds
        self.python = python
        self.warm = warm
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}_suite"
        self.cgroup = cgroups.create(cgroups.layout(), name, CGROUP_LIMITS)
        if warm:
            # Its imports run while the worker grades another run: they wait for idle CPU.
            self.cgroup.set_background(True)
        self.events_r, write_fd = os.pipe2(os.O_CLOEXEC)
        seccomp_fd = seccomp.filter_fd()
        try:
            # A file, not a pipe nobody reads: a chatty suite must not block on it.
            # A child forked from a thread inside the run's netns is born there.
            # No preexec function (it would join the cgroup), so Python can vfork():
            # fork() copied the worker's page tables for a child that only execs, 4 to
            # 7 ms of CPU, with the worker's GIL held; the gate holds the command
            # until the child is in its cgroup.
            with open(io_dir / "suite.stderr", "wb") as stderr, netns.inside_netns(netns_path):
                self.popen = subprocess.Popen(  # noqa: S603 — argv built here, no shell
                    [*_GATE, *_argv(python, cpu_seconds, io_dir, seccomp_fd), *module_args],
                    env=_env(write_fd, preload),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    pass_fds=(write_fd, seccomp_fd),
                    start_new_session=True,
                )
            self._admit(keep_stdin=warm)
        except BaseException:
            os.close(self.events_r)
            with contextlib.suppress(SandboxError):
                self.cgroup.remove()
            raise
        finally:
            os.close(seccomp_fd)
            os.close(write_fd)

    def _admit(self, *, keep_stdin: bool) -> None:
        """Into the suite's cgroup, then through the gate (_GATE)."""
        assert self.popen.stdin is not None
        try:
            for path in self.cgroup.procs_files:
                cgroups.write_pid(path, self.popen.pid)
            self.popen.stdin.write(b"go\n")
            self.popen.stdin.flush()
        except BaseException:
            self.popen.kill()
            self.popen.wait()
            raise
        if not keep_stdin:
            stdin, self.popen.stdin = self.popen.stdin, None
            stdin.close()

    @classmethod
    def cold(cls, netns_path: str, python: str, cpu_seconds: int, io_dir: Path) -> SuiteProcess:
        module_args = ["-m", ENTRY, *PYTEST_ARGS]
        return cls(netns_path, python, cpu_seconds, io_dir, module_args, warm=False)

    @classmethod
    def start_warm(cls, netns_path: str, python: str, preload: Sequence[str] = ()) -> SuiteProcess:
        """`preload`: modules to import ahead besides pytest's, for the run to come."""
        io_dir = new_io_dir()
        try:
            return cls(
                netns_path,
                python,
                WARM_CPU_SECONDS,
                io_dir,
                ["-m", ENTRY],
                warm=True,
                preload=preload,
            )
        except BaseException:
            shutil.rmtree(io_dir, ignore_errors=True)
            raise

    def fits(self, python: str, cpu_seconds: int) -> bool:
        """Whether this warm process may serve a run that needs these."""
        return self.warm and self.python == python and cpu_seconds <= self.cpu_seconds

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def go(self) -> None:
        """Let a warm suite run pytest on what the runner has written by now."""
        assert self.popen.stdin is not None
        self.cgroup.set_background(False)
        stdin, self.popen.stdin = self.popen.stdin, None
        with contextlib.suppress(BrokenPipeError):
            stdin.write(json.dumps(PYTEST_ARGS).encode() + b"\n")
        with contextlib.suppress(BrokenPipeError):
            stdin.close()

    def kill(self) -> None:
        """Everything of the suite's, forks in other sessions included."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.cgroup.kill()

    def close(self) -> None:
        """Kill what is left, reap it, close the pipe and remove the io directory."""
        self.kill()
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.events_r)
        try:
            self.cgroup.remove()
        except SandboxError:
            # The janitor (sandbox.sweep) removes it once this worker is gone.
            log.warning("could not remove the suite's cgroup %s", self.cgroup.name, exc_info=True)
        shutil.rmtree(self.io_dir, ignore_errors=True)

    # The pre-built shells' pool calls this; its object must have `discard()`.
    discard = close
