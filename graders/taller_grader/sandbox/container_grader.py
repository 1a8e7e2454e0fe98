"""The grader suite's process as a container of the run (the docker backend).

It gets what a bubblewrap grader gets (`grader.py`): the run's network (the holder's
namespace), its own pid namespace and cgroup (not the run's: the student's limits are
not the suite's), uid 2000, no capabilities, the project's seccomp profile, a read-only
root with the host's /usr, Python and the grading package bound read-only, a private
/tmp, and the same address-space and CPU-time bounds (prlimit).

A container is given no file descriptor, so the events pipe is a FIFO in the run's
directory, and stderr a file: a shell opens both for the interpreter (`3>`, `2>>`).
The runner holds the FIFO's read end before the container starts, so the suite's open
never waits, and EOF comes once every writer (the suite and its forks) is gone.
Unlike under bubblewrap the uid is the host's own, not one mapped to root: the io
dir's writable part (the control socket) is handed to it.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import signal
import subprocess
from pathlib import Path
from typing import IO, TYPE_CHECKING

from taller_grader.sandbox.api import GraderCommand, SandboxError
from taller_grader.sandbox.engine import ulimits
from taller_grader.sandbox.grader import GRADER_LIMITS, GRADER_UID, python_roots, rlimits

if TYPE_CHECKING:
    from taller_grader.sandbox.docker import DockerSandbox

try:  # the SDK is only needed by this backend; bwrap-only workers may lack it
    import docker
    import docker.errors
    import docker.types
except ImportError:  # pragma: no cover - the docker backend says so first
    docker = None  # type: ignore[assignment]

EVENTS = "/taller-events"
STDERR = "/taller-stderr"


def _hand_over(path: Path) -> None:
    """The grader's uid owns a writable bind's dir and what is in it (not following links)."""
    os.chown(path, GRADER_UID, GRADER_UID, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for entry in os.scandir(path):
            os.chown(entry.path, GRADER_UID, GRADER_UID, follow_symlinks=False)


class ContainerGrader:
    """A `GraderProcess` (api.py): one container in the run's network namespace."""

    def __init__(self, sandbox: DockerSandbox, command: GraderCommand) -> None:
        if command.warm:
            raise SandboxError("the docker backend starts no grader ahead of its run")
        self._api = sandbox.client.api
        self.stdin: IO[bytes] | None = None
        self.container_id: str | None = None
        self._status: int | None = None
        self._released = False
        self._fifo = sandbox.run_dir / f"grader-{secrets.token_hex(4)}.events"
        os.mkfifo(self._fifo, 0o600)
        os.chown(self._fifo, GRADER_UID, GRADER_UID)
        self.events_r = os.open(self._fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(self.events_r, True)
        try:
            self._start(sandbox, command)
        except BaseException:
            self.release()
            raise

    def _start(self, sandbox: DockerSandbox, command: GraderCommand) -> None:
        command.stderr.touch(mode=0o600)
        os.chown(command.stderr, GRADER_UID, GRADER_UID)

        def bind(host: str, inside: str, writable: bool = False) -> docker.types.Mount:
            return docker.types.Mount(inside, host, type="bind", read_only=not writable)

        mounts = [bind("/usr", "/usr"), *(bind(root, root) for root in python_roots())]
        if os.path.isdir("/etc/ssl"):
            mounts.append(bind("/etc/ssl", "/etc/ssl"))
        for host, inside, writable in command.binds:
            if writable:
                _hand_over(Path(host))
            mounts.append(bind(host, inside, writable))
        mounts += [bind(str(self._fifo), EVENTS, True), bind(str(command.stderr), STDERR, True)]
        # sh opens the pipe and the file for the interpreter, then is replaced by it.
        argv = [
            "/bin/sh", "-c", f'exec "$@" 3>{EVENTS} 2>>{STDERR}', "sh",
            *rlimits(command.cpu_seconds), *command.argv,
        ]  # fmt: skip
        hardening = sandbox._hardening()
        for key in ("user", "stdin_open", "tty", "detach"):
            hardening.pop(key)
        memory = GRADER_LIMITS.memory_mb * 1024 * 1024
        try:
            created = self._api.create_container(
                sandbox.image,
                command=argv,
                environment={**command.env, command.events_env: "3"},
                working_dir=command.chdir,
                user=f"{GRADER_UID}:{GRADER_UID}",
                labels=sandbox._labels("grader"),
                name=f"{sandbox.name}-grader-{secrets.token_hex(3)}",
                stdin_open=False,
                tty=False,
                detach=True,
                host_config=self._api.create_host_config(
                    network_mode=f"container:{sandbox.holder_id}",
                    init=True,
                    mounts=mounts,
                    tmpfs={"/tmp": "size=64m,mode=1777"},
                    pids_limit=GRADER_LIMITS.pids,
                    mem_limit=memory,
                    memswap_limit=memory,
                    ulimits=ulimits(),
                    **hardening,
                ),
            )
            self.container_id = created["Id"]
            self._api.start(self.container_id)
        except docker.errors.DockerException as exc:
            raise SandboxError(f"cannot start the grader's container: {exc}") from exc

    def poll(self) -> int | None:
        if self._status is None and self.container_id is not None:
            try:
                state = self._api.inspect_container(self.container_id)["State"]
            except docker.errors.NotFound:
                self._status = -int(signal.SIGKILL)
                return self._status
            if not state.get("Running") and state.get("Status") not in ("created", "configured"):
                self._status = int(state.get("ExitCode", -1))
        return self._status

    def wait(self, timeout: float) -> int:
        if self.poll() is None and self.container_id is not None:
            with contextlib.suppress(Exception):  # a timed-out or dropped wait
                self._api.wait(self.container_id, timeout=max(1, math.ceil(timeout)))
        status = self.poll()
        if status is None:
            raise subprocess.TimeoutExpired("grader", timeout)
        return status

    def set_background(self, background: bool) -> None:
        pass  # never started ahead of its run

    def kill(self) -> None:
        if self.container_id is not None and self.poll() is None:
            with contextlib.suppress(Exception):
                self._api.kill(self.container_id, signal=int(signal.SIGKILL))

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self.container_id is not None:
            self.poll()  # the status, before the container is gone
            with contextlib.suppress(Exception):
                self._api.remove_container(self.container_id, force=True, v=True)
        with contextlib.suppress(OSError):
            os.close(self.events_r)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._fifo)
