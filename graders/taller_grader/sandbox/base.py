"""What every backend's run does alike: its checks, starting programs, the watchdog that
enforces the wall and CPU-time limits, reading files back and the order of `close()`.

A backend says how a program is launched (`_launch`), how much CPU the run has used
(`cpu_seconds`), and what its teardown removes (`_teardown`).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Generic, Required, Self, TypedDict, TypeVar, Unpack

from taller_grader.sandbox import common, files
from taller_grader.sandbox.api import Limits, SandboxError, ServiceGrant, SubmissionRejected, Warm
from taller_grader.sandbox.program import ProgramBase

WATCHDOG_TICK = 0.05
_RUN_ID = re.compile(r"[A-Za-z0-9_]{1,40}")
ProgramT = TypeVar("ProgramT", bound=ProgramBase)


class RunOptions(TypedDict, total=False):
    """What every backend's run is built with, besides its files and limits."""

    runtime_dir: Required[Path]  # holds node_modules, shown read-only at /node_modules
    grants: Sequence[ServiceGrant]
    run_id: str | None  # [A-Za-z0-9_]{1,40}; random when not given
    state_dir: Path | None  # root-only dir of the run's files (default $TALLER_SANDBOX_DIR)


class SandboxBase(ABC, Generic[ProgramT]):
    """One run; a context manager. `programs` are every program started, in order."""

    name: str
    workdir: Path
    netns_path: str
    # How long close() waits for each killed program to be reported gone.
    close_wait = 5.0

    def __init__(
        self, files_: Mapping[str, bytes], limits: Limits, **options: Unpack[RunOptions]
    ) -> None:
        run_id = options.get("run_id") or secrets.token_hex(6)
        if not _RUN_ID.fullmatch(run_id):
            raise ValueError(f"run_id must match {_RUN_ID.pattern}")
        self.run_id = run_id
        self.limits = limits
        self.grants = tuple(options.get("grants", ()))
        self.runtime_dir = Path(options["runtime_dir"])
        self.state_dir = options.get("state_dir") or common.default_state_dir()
        # Checked before anything is created: a refusal leaves nothing to clean.
        self.entries = files.validate(files_, limits, files.shared_modules(self.runtime_dir))
        common.check_grants(self.grants)
        self.programs: list[ProgramT] = []
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def add_grant(self, grant: ServiceGrant) -> None:
        """A per-run service made after the sandbox (it needed the run's netns).

        Applies to programs started from now on; call it before the first start.
        """
        with self._lock:
            common.check_grants((*self.grants, grant))
            self.grants = (*self.grants, grant)

    # -- programs ---------------------------------------------------------------------

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str = ".",
        name: str = "main",
    ) -> ProgramT:
        """A program of the run; `cwd` is relative to /work. See api.Sandbox.start."""
        if not argv:
            raise ValueError("argv is empty")
        try:
            inside_cwd = self._inside_cwd(files.split_name(cwd) if cwd not in (".", "") else ())
        except SubmissionRejected as exc:
            raise SandboxError(f"bad cwd: {exc.reason}") from exc
        full_env = self._env(env)
        with self._lock:
            if self._closed:
                raise SandboxError("sandbox is closed")
            program = self._launch(list(argv), full_env, inside_cwd, name)
            self.programs.append(program)
            if self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._guard, name=f"watchdog-{self.name}", daemon=True
                )
                self._watchdog.start()
        return program

    def _inside_cwd(self, parts: tuple[str, ...]) -> str:
        """The program's working directory inside; SubmissionRejected if refused."""
        return "/".join([common.INSIDE_WORKDIR, *parts])

    @abstractmethod
    def _env(self, env: Mapping[str, str] | None) -> dict[str, str]: ...

    @abstractmethod
    def _launch(self, argv: list[str], env: dict[str, str], cwd: str, name: str) -> ProgramT:
        """Start one program (under the run's lock)."""

    @abstractmethod
    def cpu_seconds(self) -> float:
        """CPU time used by the run's programs so far."""

    def _sample(self, live: list[ProgramT]) -> None:
        """Refresh what `cpu_seconds` reads, before each watchdog check."""

    def _guard(self) -> None:
        while not self._stop.wait(WATCHDOG_TICK):
            now = time.monotonic()
            live = [p for p in list(self.programs) if p.running]
            self._sample(live)
            over_cpu = self.cpu_seconds() > self.limits.cpu_seconds
            for program in live:
                if over_cpu:
                    program._kill("cpu")
                elif now - program.started > self.limits.wall_seconds:
                    program._kill("wall")

    # -- files ------------------------------------------------------------------------

    def read_file(self, name: str, max_bytes: int = 1024 * 1024) -> bytes:
        """A file the program left in its work dir; links refused (never followed)."""
        return files.read_file(self.workdir, name, max_bytes)

    def take_warm(self) -> Warm | None:
        """What was made ahead in this run's netns (once), if anything. See api.Sandbox."""
        return None

    # -- cleanup ----------------------------------------------------------------------

    def close(self) -> None:
        """Kill everything, remove every trace of the run. Safe to call twice."""
        with self._lock:
            first = not self._closed
            self._closed = True
        self._stop.set()
        for program in self.programs:
            program._kill("killed")
        self._kill_rest()
        for program in self.programs:
            program.wait(timeout=self.close_wait)
        if self._watchdog is not None:
            self._watchdog.join(timeout=1.0)
        errors: list[str] = []
        self._teardown(errors, first=first)
        if errors:
            raise SandboxError("; ".join(errors))

    def _kill_rest(self) -> None:
        """After each program's own kill: whatever else of the run may still run."""

    @abstractmethod
    def _teardown(self, errors: list[str], *, first: bool) -> None:
        """Remove what the run made (again, safely, when not `first`); note failures."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
