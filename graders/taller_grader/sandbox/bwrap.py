"""The bubblewrap backend: one run = one cgroup, one netns, one work dir; N programs.

Each `start()` is its own bwrap (own pid, mount, ipc, uts, cgroup and user namespaces)
joined to the run's network namespace, cgroup and work dir (see `shell.py` for those,
and for the launchers kept ready so that a start does not wait on the kernel). bwrap is
launched by the worker (root) but as a per-run unprivileged host uid, so that uid 1000
inside maps to a uid that owns nothing on the host (launched as root, it would map to
root). Killing a program kills its pid namespace's init, which takes every process of
that namespace with it, daemons included.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Unpack

from taller_grader.sandbox import _libc, cgroups, common, files, netns
from taller_grader.sandbox.api import (
    ExitInfo,
    GraderCommand,
    Limits,
    SandboxError,
    Warm,
)
from taller_grader.sandbox.base import RunOptions, SandboxBase
from taller_grader.sandbox.common import INSIDE_TMP, INSIDE_UID, INSIDE_WORKDIR, default_state_dir
from taller_grader.sandbox.grader import BwrapGrader
from taller_grader.sandbox.program import ProgramBase, exit_status, limit_reason
from taller_grader.sandbox.shell import (
    POOL,
    PREFIX,
    SUITE_IO_SUFFIX,
    RunShell,
    etc_files,
    remove_run_dir,
)

BWRAP = "/usr/bin/bwrap"
log = logging.getLogger(__name__)
NEXT_STANDBY_DELAY = 0.25


def _layout() -> cgroups.Layout:
    return cgroups.layout()


class BwrapProgram(ProgramBase):
    def __init__(
        self,
        sandbox: BwrapSandbox,
        name: str,
        popen: subprocess.Popen[bytes],
        init_pid: int,
        limits: Limits,
    ) -> None:
        super().__init__(name, limits)
        self._sandbox = sandbox
        self._popen = popen
        self.init_pid = init_pid
        self._init_fd = os.pidfd_open(init_pid)
        self._main_fd: int | None = None
        self._oom_before = sandbox.cgroup.oom_kills()
        self._pids_before = sandbox.cgroup.pids_refusals()
        self._monitor = threading.Thread(target=self._watch, name=f"mon-{name}", daemon=True)
        self._monitor.start()

    def _find_main(self) -> int | None:
        """A pidfd for the program's main process: the first child of bwrap's init.

        The init forks the command right after reporting its pid, and exits (taking the
        namespace with it) when that child exits, so while the program runs its main
        process is the init's oldest child; orphans adopted later come after it.
        """
        if self._main_fd is not None:
            return self._main_fd
        path = f"/proc/{self.init_pid}/task/{self.init_pid}/children"
        deadline = time.monotonic() + 2.0
        while not self._done.is_set() and time.monotonic() < deadline:
            try:
                with open(path, encoding="ascii") as handle:
                    children = handle.read().split()
            except (FileNotFoundError, ProcessLookupError):
                return None
            if children:
                with contextlib.suppress(ProcessLookupError):
                    self._main_fd = os.pidfd_open(int(children[0]))
                return self._main_fd
            time.sleep(0.001)
        return None

    def _pending(self) -> int:
        total = 0
        for stream in (self._popen.stdout, self._popen.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                raw = fcntl.ioctl(stream.fileno(), termios.FIONREAD, b"\0\0\0\0")  # type: ignore[union-attr]
                total += int.from_bytes(raw, sys.byteorder, signed=True)
        return total

    def _read(self) -> None:
        assert self._popen.stdout is not None and self._popen.stderr is not None
        streams = {
            self._popen.stdout.fileno(): self._stdout,
            self._popen.stderr.fileno(): self._stderr,
        }
        devnull = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        poller = select.poll()
        for fd in streams:
            poller.register(fd, select.POLLIN)
        try:
            while streams:
                for fd, _ in poller.poll():
                    if not streams[fd].take(fd, devnull):
                        poller.unregister(fd)
                        del streams[fd]
        finally:
            os.close(devnull)

    def _watch(self) -> None:
        # Output first: the pipes reach EOF when the last process of the namespace is
        # gone, which is also when bwrap exits.
        self._read()
        code = self._popen.wait()
        # bwrap's outer process exits as soon as its init reports the status, orphaning
        # the init; the worker is a subreaper, so reap it here instead of leaving a
        # zombie to the host's pid 1 (which may be slow to reap).
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitid(os.P_PIDFD, self._init_fd, os.WEXITED)
        self._exit = self._exit_info(code)
        # Under the lock: signal()/kill() must never use a pidfd number after it is
        # closed (and perhaps reused for another process's pidfd).
        with self._lock:
            for fd in (self._init_fd, self._main_fd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._done.set()

    def pids_limit_reached(self) -> bool:
        return self._sandbox.cgroup.pids_refusals() > self._pids_before

    def _exit_info(self, code: int) -> ExitInfo:
        # bwrap reports a command killed by signal N as exit status 128+N.
        exit_code, signum = exit_status(code)
        cgroup = self._sandbox.cgroup
        reason = limit_reason(
            self._kill_reason,
            exit_code,
            self._stderr.data,
            oom=cgroup.oom_kills() > self._oom_before,
            pids=cgroup.pids_refusals() > self._pids_before,
        )
        return ExitInfo(exit_code=exit_code, signal=signum, reason=reason)

    def signal(self, signum: int) -> None:
        with self._lock:
            main = None if self._done.is_set() else self._find_main()
            if main is not None:
                with contextlib.suppress(ProcessLookupError, OSError):
                    signal.pidfd_send_signal(main, signum)

    def _send_kill(self) -> None:
        # Killing a pid namespace's init kills every process in it: daemons too.
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self._init_fd, signal.SIGKILL)


class BwrapSandbox(SandboxBase[BwrapProgram]):
    """One run. Build it with `open_sandbox()`; use it as a context manager."""

    def __init__(
        self,
        files_: Mapping[str, bytes],
        limits: Limits,
        *,
        layout: cgroups.Layout | None = None,
        **options: Unpack[RunOptions],
    ) -> None:
        super().__init__(files_, limits, **options)
        entries = self.entries
        self.node_modules = self.runtime_dir / "node_modules"
        if not self.node_modules.is_dir():
            raise SandboxError(f"{self.node_modules} is missing: run npm ci in the runtime dir")
        _become_subreaper()
        state_dir = self.state_dir
        layout = layout or _layout()
        shell = POOL.take(state_dir, layout)
        try:
            if shell is None:
                shell = RunShell(state_dir, layout, limits)
                shell.prepare_standby()
            else:
                shell.adapt(limits)
            files.write_tree(shell.workdir, entries, shell.host_uid, shell.host_uid)
        except BaseException:
            if shell is not None:
                shell.destroy([])
            raise
        POOL.refill(state_dir, layout)
        self._shell = shell
        self.name = shell.name
        self.host_uid = shell.host_uid
        self.run_dir = shell.run_dir
        self.workdir = shell.workdir
        self.tmpdir = shell.tmpdir
        self.netns_path = shell.netns_path
        assert shell.cgroup is not None
        self.cgroup: cgroups.RunCgroup = shell.cgroup

    # -- programs -------------------------------------------------------------------

    def _bwrap_args(self, inside_cwd: str, seccomp_fd: int, info_fd: int) -> list[str]:
        args = [
            BWRAP,
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--uid",
            str(INSIDE_UID),
            "--gid",
            str(INSIDE_UID),
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "taller",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        # The run's own memory cgroup, read-only where libuv looks for it: Node sizes its
        # heap from it (uv_get_constrained_memory) with no V8 flag, which would cost every
        # start ~13 ms (flags invalidate V8's start-up snapshot checks).
        for host, inside in self.cgroup.memory_view():
            args += ["--ro-bind", host, inside]
        for name in etc_files():
            args += ["--ro-bind", str(self.run_dir / "etc" / name), f"/etc/{name}"]
        args += [
            "--ro-bind",
            str(self.node_modules),
            "/node_modules",
            "--bind",
            str(self.workdir),
            INSIDE_WORKDIR,
            "--bind",
            str(self.tmpdir),
            INSIDE_TMP,
        ]
        for grant in self.grants:
            for host, inside in grant.binds:
                args += ["--bind", host, inside]
        args += [
            # /dev is a tmpfs of its own: read-only too, so it cannot be filled or used.
            "--remount-ro",
            "/dev",
            "--remount-ro",
            "/",
            "--chdir",
            inside_cwd,
            "--seccomp",
            str(seccomp_fd),
            "--info-fd",
            str(info_fd),
            "--",
        ]
        return args

    def _env(self, env: Mapping[str, str] | None) -> dict[str, str]:
        return common.program_env(
            self.limits, self.grants, env, node_sees_cgroup=bool(self.cgroup.memory_view())
        )

    def _launch(self, argv: list[str], env: dict[str, str], cwd: str, name: str) -> BwrapProgram:
        standby = self._shell.take_standby()
        try:
            standby.launch(self._bwrap_args(cwd, standby.seccomp_fd, standby.info_w) + argv, env)
            init_pid = self._read_info(standby.info_r, standby.popen)
        except BaseException:
            standby.discard()
            raise
        os.close(standby.info_r)
        standby.forget_script()
        program = BwrapProgram(self, name, standby.popen, init_pid, self.limits)
        # The next start (a restart, a second service) finds its launcher ready; made a
        # little later, so that forking it does not slow this program's own start-up.
        self._shell.prepare_standby(delay=NEXT_STANDBY_DELAY)
        return program

    def _read_info(self, fd: int, popen: subprocess.Popen[bytes]) -> int:
        data = b""
        deadline = time.monotonic() + 10.0
        while b"}" not in data:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                popen.kill()
                try:
                    _, err = popen.communicate(timeout=5)
                except subprocess.TimeoutExpired:
                    err = b"(no output)"
                raise SandboxError(
                    f"bwrap failed ({'no info' if ready else 'timed out'}, status "
                    f"{popen.poll()}): {err.decode(errors='replace').strip()}"
                )
            data += chunk
        return int(json.loads(data)["child-pid"])

    def cpu_seconds(self) -> float:
        return self.cgroup.cpu_seconds()

    def start_grader(self, command: GraderCommand) -> BwrapGrader:
        return BwrapGrader(self.netns_path, command)

    def take_warm(self) -> Warm | None:
        """What the pool's warmer prepared in this run's netns (once), if anything."""
        return self._shell.take_warm()

    # -- cleanup --------------------------------------------------------------------

    def _kill_rest(self) -> None:
        cgroup = getattr(self, "cgroup", None)
        if cgroup is not None:
            with contextlib.suppress(OSError):
                cgroup.kill()

    def _teardown(self, errors: list[str], *, first: bool) -> None:
        shell = getattr(self, "_shell", None)
        if shell is not None:
            shell.destroy(errors)


_subreaper_lock = threading.Lock()
_subreaper = False


def _become_subreaper() -> None:
    global _subreaper
    with _subreaper_lock:
        if not _subreaper:
            _libc.set_child_subreaper()
            _subreaper = True


def sweep(
    *,
    state_dir: Path | None = None,
    everything: bool = False,
    layout: cgroups.Layout | None = None,
) -> list[str]:
    """Remove what crashed workers left: processes, cgroups, netns, mounts, dirs.

    Only runs whose worker pid is gone are touched (unless `everything`), so it is safe
    at any worker's start even with siblings running. Returns what was removed.
    """
    removed = [
        f"cgroup {n}"
        for n in cgroups.sweep(layout or cgroups.detect(), PREFIX, everything=everything)
    ]
    for directory in (Path(netns.NETNS_DIR), state_dir or default_state_dir()):
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not cgroups.is_run_name(entry.name, PREFIX):
                continue
            if not everything and cgroups.owner_alive(entry.name, PREFIX):
                continue
            if directory == Path(netns.NETNS_DIR):
                try:
                    netns.delete_netns(entry.path)
                except OSError as exc:
                    # One leftover the janitor cannot remove must not stop it.
                    log.warning("sweep: cannot remove netns %s: %s", entry.name, exc)
                    continue
                removed.append(f"netns {entry.name}")
            elif entry.is_dir(follow_symlinks=False) and entry.name.endswith(SUITE_IO_SUFFIX):
                # Our files (the suite, run.json, the control socket): removed without
                # following any link the suite may have left in control/.
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(f"dir {entry.name}")
            elif entry.is_dir(follow_symlinks=False):
                errors: list[str] = []
                remove_run_dir(Path(entry.path), errors)
                removed.append(f"dir {entry.name}")
    return removed
