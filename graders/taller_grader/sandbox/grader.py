"""A grader's process beside a run, and how bubblewrap confines it.

Suites are instructors' code (and can be uploaded), so they run unprivileged, with the
students' seccomp rules, a read-only view of /usr, Python and the grading package, and
bounds on memory, processes and CPU time; each in a cgroup of its own, apart from the
student's: bounds that a suite's fork loop cannot escape, and a sure way to kill all of
it. Both backends give it the same: bubblewrap here (`BwrapGrader`, also started ahead
of a run in a pre-built shell's namespace), a container in `docker.py`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from taller_grader.sandbox import cgroups, netns, seccomp
from taller_grader.sandbox.api import GraderCommand, Limits, SandboxError
from taller_grader.sandbox.shell import PREFIX, SH

GRADER_UID = 2000
MEMORY_BYTES = 2 << 30  # address space of the grader's process
# The grader's cgroup: memory with swap, processes (threads count); CPU unbounded, since
# the run's time limit already bounds it and a quota would only slow grading.
GRADER_LIMITS = Limits(memory_mb=1024, pids=128, cpus=float(os.cpu_count() or 1))
log = logging.getLogger(__name__)
# The grader's command waits behind this for one line on its stdin, sent once the worker
# has moved it into its cgroup (dash reads the line a byte at a time: what follows, a
# warm suite's arguments, is left to Python).
_GATE = (SH, "-c", 'read -r go && exec "$@"', "sh")


def python_roots() -> list[str]:
    """Host dirs a grader needs besides /usr: the interpreter's and the grading package's
    (pyenv lives under /root on some hosts), bound read-only at the same paths."""
    package = Path(__file__).resolve().parents[2]
    roots = {Path(sys.prefix), Path(sys.base_prefix), package}
    return [str(root) for root in sorted(roots) if not str(root).startswith("/usr")]


def rlimits(cpu_seconds: int) -> list[str]:
    """The argv prefix bounding the address space and the CPU time (when prlimit exists)."""
    if not shutil.which("prlimit"):
        return []
    return ["prlimit", f"--as={MEMORY_BYTES}", f"--cpu={cpu_seconds}", "--"]


def _bwrap_argv(command: GraderCommand, seccomp_fd: int) -> list[str]:
    args = [
        *rlimits(command.cpu_seconds),
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
    for root in python_roots():
        args += ["--ro-bind", root, root]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for host, inside, writable in command.binds:
        args += ["--bind" if writable else "--ro-bind", host, inside]
    args += [
        "--remount-ro", "/",
        "--chdir", command.chdir,
        "--seccomp", str(seccomp_fd),
        "--",
        *command.argv,
    ]  # fmt: skip
    return args


class BwrapGrader:
    """A grader's process under bubblewrap, in the network namespace at `netns_path`."""

    def __init__(self, netns_path: str, command: GraderCommand) -> None:
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}_suite"
        self.cgroup = cgroups.create(cgroups.layout(), name, GRADER_LIMITS)
        if command.warm:
            # Its imports run while the worker grades another run: they wait for idle CPU.
            self.cgroup.set_background(True)
        self.events_r, write_fd = os.pipe2(os.O_CLOEXEC)
        seccomp_fd = seccomp.filter_fd()
        try:
            # A child forked from a thread inside the run's netns is born there.
            # No preexec function (it would join the cgroup), so Python can vfork():
            # fork() copied the worker's page tables for a child that only execs, 4 to
            # 7 ms of CPU, with the worker's GIL held; the gate holds the command
            # until the child is in its cgroup.
            with open(command.stderr, "wb") as stderr, netns.inside_netns(netns_path):
                self.popen = subprocess.Popen(  # noqa: S603 — argv built here, no shell
                    [*_GATE, *_bwrap_argv(command, seccomp_fd)],
                    env={**command.env, command.events_env: str(write_fd)},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    pass_fds=(write_fd, seccomp_fd),
                    start_new_session=True,
                )
            self._admit(keep_stdin=command.warm)
        except BaseException:
            os.close(self.events_r)
            with contextlib.suppress(SandboxError):
                self.cgroup.remove()
            raise
        finally:
            os.close(seccomp_fd)
            os.close(write_fd)
        self.stdin = self.popen.stdin

    def _admit(self, *, keep_stdin: bool) -> None:
        """Into the grader's cgroup, then through the gate (_GATE)."""
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

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def set_background(self, background: bool) -> None:
        self.cgroup.set_background(background)

    def kill(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.cgroup.kill()

    def release(self) -> None:
        self.kill()
        if self.stdin is not None:
            with contextlib.suppress(OSError):
                self.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.events_r)
        try:
            self.cgroup.remove()
        except SandboxError:
            # The janitor (sandbox.sweep) removes it once this worker is gone.
            log.warning("could not remove the suite's cgroup %s", self.cgroup.name, exc_info=True)
