"""The sandbox's interface: what a run may use, what it gets, and how it ended.

Backends (bubblewrap here, containers in production) implement `Sandbox` and `Program`,
and confine the grader suite's process beside a run (`GraderCommand`, `GraderProcess`);
per-run services (PostgreSQL, RabbitMQ, MongoDB) hand a run a `ServiceGrant`. The
platform and the grader SDK only ever see these types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-run limits. Every program of a run shares them (one cgroup per run)."""

    wall_seconds: float = 30.0
    cpu_seconds: float = 20.0
    memory_mb: int = 512
    pids: int = 128  # counts threads too: a node process has about seven
    cpus: float = 1.0  # CPU quota, in cores
    output_bytes: int = 256 * 1024  # per stream, per program; the rest is dropped
    workdir_mb: int = 64
    tmp_mb: int = 64
    workdir_inodes: int = 20_000  # bounds a flood of small files as size alone cannot
    max_files: int = 100
    max_file_bytes: int = 256 * 1024
    max_total_bytes: int = 1024 * 1024


class SubmissionRejected(Exception):
    """The files were refused before anything ran; `reason` is shown to the student.

    `code` and `params`, when given, say the same for whoever words it in the student's
    language (sandbox.files.MESSAGES).
    """

    def __init__(
        self, reason: str, code: str = "", params: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.params = dict(params or {})


class SandboxError(RuntimeError):
    """The sandbox itself failed (a platform fault, never the student's)."""


@dataclass(frozen=True, slots=True)
class ServiceGrant:
    """What a per-run service gives the student's program."""

    env: Mapping[str, str] = field(default_factory=dict)
    # (host path, path inside the sandbox) pairs mounted read-write, e.g. a socket dir.
    binds: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Output:
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False


@dataclass(frozen=True, slots=True)
class ExitInfo:
    """How a program ended. `reason` is None for a normal exit."""

    exit_code: int | None  # None when killed by a signal
    signal: int | None = None
    reason: str | None = None  # "memory", "cpu", "wall", "pids", "killed"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.reason is None


class Warm(Protocol):
    """Something a run will want in its network namespace, made before the run comes."""

    def discard(self) -> None: ...


@runtime_checkable
class Program(Protocol):
    """One process tree started in a run's sandbox."""

    name: str

    @property
    def running(self) -> bool: ...

    def signal(self, signum: int) -> None:
        """Deliver a signal to the program's main process (not to the sandbox init)."""

    def kill(self) -> None:
        """Kill the whole process tree of this program."""

    def wait(self, timeout: float | None = None) -> ExitInfo | None:
        """Wait for the program to end; None if it is still running after `timeout`."""

    def output(self) -> Output:
        """Everything captured so far (capped by `Limits.output_bytes`)."""

    def output_mark(self) -> tuple[int, int]:
        """Bytes of stdout and stderr captured, once what was written before the call
        is in: where a test's output starts (the runner attributes lines to tests)."""

    def captured(self) -> tuple[bytes, bytes]:
        """The captured stdout and stderr, raw: the offsets of output_mark index them."""

    def pids_limit_reached(self) -> bool:
        """Whether the run's process limit refused a fork or a thread since this program
        started (a fork loop, while it still runs)."""


@dataclass(frozen=True, slots=True)
class GraderCommand:
    """A grader's process (the suite's interpreter) for a backend to start beside a run.

    It runs unprivileged (`grader.GRADER_UID`), in the run's network namespace but in its
    own cgroup, with the students' seccomp rules, a read-only view of /usr, Python and
    the grading package, a private /tmp, and `binds` (host, inside, writable).
    """

    argv: tuple[str, ...]
    env: Mapping[str, str]
    binds: tuple[tuple[str, str, bool], ...]
    chdir: str
    stderr: Path  # a host file that gets its stderr (a chatty suite must never block)
    events_env: str  # the variable that tells it which fd writes to the events pipe
    cpu_seconds: int
    # Started ahead of its run: input comes later on stdin, and it gets CPU only when
    # nothing else wants it until set_background(False).
    warm: bool = False


class GraderProcess(Protocol):
    """A started `GraderCommand`."""

    events_r: int  # the events pipe's read end; EOF once the process and its forks are gone
    stdin: IO[bytes] | None  # a warm process's input

    def poll(self) -> int | None:
        """Its exit status, or None while it runs."""

    def wait(self, timeout: float) -> int:
        """Its exit status; subprocess.TimeoutExpired if it still runs after `timeout`."""

    def set_background(self, background: bool) -> None: ...

    def kill(self) -> None:
        """Everything of the process's, forks in other sessions included."""

    def release(self) -> None:
        """Kill what is left, reap it, close the pipe, remove its cgroup or container."""


@runtime_checkable
class Sandbox(Protocol):
    """One run's isolated world: files, network namespace, cgroup, services."""

    workdir: Path  # host path of the submission's writable copy
    netns_path: str  # a path setns() accepts, to reach the run's loopback from outside

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str = ".",
        name: str = "main",
    ) -> Program:
        """Start a program; `cwd` is relative to the submission's root inside the sandbox."""

    def add_grant(self, grant: ServiceGrant) -> None:
        """Add a per-run service's env and binds for programs started from now on."""

    def start_grader(self, command: GraderCommand) -> GraderProcess:
        """Start the grader suite's process, confined, in this run's network namespace."""

    def take_warm(self) -> Warm | None:
        """What was made ahead in this run's network namespace (a warm grader suite), once.

        None when the backend prepares nothing ahead or nothing is ready.
        """

    def close(self) -> None:
        """Kill everything, remove every trace of the run. Safe to call twice."""
