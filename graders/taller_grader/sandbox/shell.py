"""A run's host-side resources, and launchers that are ready before they are needed.

A `RunShell` is everything a run owns on the host: its directory with a minimal /etc,
two size-limited tmpfs mounts (work and tmp), a cgroup and a network namespace. None of
it depends on the submission, so the worker keeps one shell built ahead of time (`POOL`)
and only adapts its limits when a run takes it.

A `Standby` is a tiny launcher (`sh`) already moved into the run's cgroups, inside its
network namespace and running as the run's unprivileged host uid, waiting for one line
on stdin to `exec` bwrap. Moving a process into a cgroup write-locks the kernel's
cgroup_threadgroup_rwsem, which waits for an RCU grace period (~15 ms here) unless the
hierarchy is mounted with `favordynmods`; a standby pays that wait in the background
instead of on the path of `start()`.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import re
import resource
import secrets
import shlex
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from taller_grader.sandbox import _libc, cgroups, netns, seccomp
from taller_grader.sandbox.api import Limits, SandboxError, Warm
from taller_grader.sandbox.common import INSIDE_UID, INSIDE_WORKDIR, rmdirs

PREFIX = "taller-"
# A grader suite's own directory in the state dir (`taller_grader.suite`): the janitor
# removes it whole when its worker is gone.
SUITE_IO_SUFFIX = "_io"
# Host uids for sandboxes: unused by any account, one per run.
HOST_UID_BASE = 1_900_000
HOST_UID_SPAN = 65_536
SH = "/usr/bin/sh"
ENV = "/usr/bin/env"
log = logging.getLogger(__name__)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def etc_files() -> dict[str, str]:
    return {
        "passwd": f"node:x:{INSIDE_UID}:{INSIDE_UID}:node:{INSIDE_WORKDIR}:/usr/sbin/nologin\n",
        "group": f"node:x:{INSIDE_UID}:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    }


def _preexec(procs_files: list[str], uid: int) -> Callable[[], None]:
    join = cgroups.joiner(procs_files)

    def run() -> None:
        join()
        # No core dumps: a core_pattern helper runs as root on the host (and a V8 heap
        # overflow aborts, so dumps would be common and large).
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)

    return run


@functools.cache
def _setpriv() -> str | None:
    return shutil.which("setpriv", path="/usr/bin:/bin")


# Builds a Warm for a network namespace (the runner's warm grader suite).
Warmer = Callable[[str], Warm]


class Standby:
    """A launcher in the run's cgroup and netns; `launch()` turns it into bwrap."""

    def __init__(self, shell: RunShell, index: int) -> None:
        self.host_uid = shell.host_uid
        self.script = shell.run_dir / f"launch-{index}"
        assert shell.cgroup is not None
        self.seccomp_fd = seccomp.filter_fd()
        self.info_r, info_w = os.pipe2(os.O_CLOEXEC)
        self.info_w = info_w
        uid = shell.host_uid
        setpriv = _setpriv()
        preexec: Callable[[], None] | None = None
        if setpriv is None:
            argv = [SH, "-c", 'read -r go && . "$0"', str(self.script)]
            preexec = _preexec(shell.cgroup.procs_files, uid)
        else:
            # No preexec function, so Python can vfork(): fork() copied the worker's page
            # tables (~100 MB of Django) for a child that only execs, 4 to 7 ms of CPU a
            # launcher against ~1. setpriv drops to the run's uid, the launcher forbids
            # core dumps itself, and it is moved into the run's cgroups from here before
            # it has its line (until then it only waits for it).
            argv = [
                *(setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"),
                *(SH, "-c", 'ulimit -c 0 && read -r go && . "$0"', str(self.script)),
            ]
        try:
            with netns.inside_netns(shell.netns_path):
                self.popen = subprocess.Popen(  # noqa: S603 - fixed argv, no user input
                    argv,
                    env={},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    pass_fds=(self.seccomp_fd, info_w),
                    preexec_fn=preexec,
                )
            if preexec is None:
                try:
                    for path in shell.cgroup.procs_files:
                        cgroups.write_pid(path, self.popen.pid)
                except BaseException:
                    self.popen.kill()
                    self.popen.communicate()
                    raise
        except BaseException:
            os.close(self.info_r)
            raise
        finally:
            # The child keeps these numbers; the launch line refers to them.
            os.close(self.seccomp_fd)
            os.close(info_w)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def launch(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        """Exec `argv` (bwrap's) with exactly `env`; stdin becomes /dev/null."""
        for name, value in env.items():
            if not _ENV_NAME.fullmatch(name) or "\0" in value:
                raise ValueError(f"invalid environment variable {name!r}")
        if any("\0" in arg for arg in argv):
            raise ValueError("argv contains a NUL byte")
        line = " ".join(
            ["exec", ENV, "-i"]
            + [shlex.quote(f"{k}={v}") for k, v in env.items()]
            + [shlex.quote(arg) for arg in argv]
            + ["0</dev/null"]
        )
        # The line carries the run's secrets (grants' env): readable by the launcher only.
        fd = os.open(self.script, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
        try:
            os.fchown(fd, self.host_uid, self.host_uid)
            os.write(fd, line.encode() + b"\n")
        finally:
            os.close(fd)
        assert self.popen.stdin is not None
        stdin, self.popen.stdin = self.popen.stdin, None
        try:
            stdin.write(b"go\n")
            stdin.close()
        except BrokenPipeError:
            pass  # it died; reading the info pipe reports it

    def forget_script(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.script)

    def discard(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
            self.popen.communicate(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.info_r)
        self.forget_script()


class _Spawner:
    """The one long-lived thread that forks every launcher.

    bwrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the parent *thread*
    exits, not the process: a launcher forked by a short-lived thread (a grader thread,
    a pool refill) would have its program SIGKILLed when that thread, or whichever
    thread it was handed to, ends. Forking from one thread that lives as long as the
    worker ties the programs to the worker, as intended.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawn")

    def submit(self, shell: RunShell, index: int) -> Future[Standby]:
        return self._executor.submit(Standby, shell, index)

    def warm(self, warmer: Warmer, netns_path: str) -> Future[Warm]:
        return self._executor.submit(warmer, netns_path)

    def _reset_in_child(self) -> None:
        # The parent's thread does not exist in a forked child.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawn")


SPAWNER = _Spawner()
os.register_at_fork(after_in_child=SPAWNER._reset_in_child)


class StandbySlot:
    """One standby being prepared by the spawner thread, possibly after a delay."""

    def __init__(self, shell: RunShell, index: int, delay: float = 0.0) -> None:
        self._shell = shell
        self._index = index
        self._lock = threading.Lock()
        self._future: Future[Standby] | None = None
        self._timer: threading.Timer | None = None
        if delay > 0:
            self._timer = threading.Timer(delay, self._submit)
            self._timer.daemon = True
            self._timer.start()
        else:
            self._submit()

    def _submit(self) -> None:
        with self._lock:
            if self._future is None:
                self._future = SPAWNER.submit(self._shell, self._index)

    def take(self) -> Standby | None:
        """The standby if it could be made and is alive, else None (the caller makes one)."""
        if self._timer is not None:
            self._timer.cancel()
        self._submit()  # now, if the delay has not run out
        with self._lock:
            future, self._future = self._future, None
        if future is None or future.exception() is not None:
            return None
        standby = future.result()
        if not standby.alive:
            standby.discard()
            return None
        return standby

    def discard(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            # Taking the lock also waits out a timer that is submitting right now.
            future, self._future = self._future, None
            self._future = self._cancelled_marker()
        if future is not None and future.exception() is None:
            future.result().discard()

    @staticmethod
    def _cancelled_marker() -> Future[Standby]:
        # A done future with an error: a late _submit() sees a future and does nothing,
        # and a take() after discard() reports "no standby".
        done: Future[Standby] = Future()
        done.set_exception(SandboxError("standby discarded"))
        return done


class RunShell:
    """A run's directory, tmpfs mounts, cgroup and network namespace."""

    def __init__(self, state_dir: Path, layout: cgroups.Layout, limits: Limits) -> None:
        self.name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        self.state_dir = state_dir
        self.layout = layout
        self.host_uid = HOST_UID_BASE + secrets.randbelow(HOST_UID_SPAN)
        self.run_dir = state_dir / self.name
        self.workdir = self.run_dir / "work"
        self.tmpdir = self.run_dir / "tmp"
        self.netns_path = ""
        self.cgroup: cgroups.RunCgroup | None = None
        self._launches = 0
        self.next: StandbySlot | None = None
        self._warm: Future[Warm] | None = None
        try:
            self._build_dirs(limits)
            self.cgroup = cgroups.create(layout, self.name, limits)
            self.netns_path = netns.create_netns(self.name)
        except BaseException:
            self.destroy([])
            raise

    def _build_dirs(self, limits: Limits) -> None:
        self.run_dir.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.run_dir.mkdir(mode=0o755)
        etc = self.run_dir / "etc"
        etc.mkdir(mode=0o755)
        for name, text in etc_files().items():
            (etc / name).write_text(text, encoding="ascii")
        owner = f"mode=0755,uid={self.host_uid},gid={self.host_uid}"
        for path, options in self._tmpfs_options(limits):
            path.mkdir(mode=0o700)
            _libc.mount(
                "tmpfs", str(path), "tmpfs", _libc.MS_NOSUID | _libc.MS_NODEV, f"{options},{owner}"
            )

    def _tmpfs_options(self, limits: Limits) -> list[tuple[Path, str]]:
        return [
            (self.workdir, f"size={limits.workdir_mb}m,nr_inodes={limits.workdir_inodes}"),
            (self.tmpdir, f"size={limits.tmp_mb}m,nr_inodes={limits.workdir_inodes}"),
        ]

    def adapt(self, limits: Limits) -> None:
        """Give a pre-built (still empty) shell a run's limits."""
        assert self.cgroup is not None
        self.cgroup.apply(limits)
        flags = _libc.MS_REMOUNT | _libc.MS_NOSUID | _libc.MS_NODEV
        for path, options in self._tmpfs_options(limits):
            _libc.mount("tmpfs", str(path), None, flags, options)

    def prepare_standby(self, delay: float = 0.0) -> None:
        self._launches += 1
        self.next = StandbySlot(self, self._launches, delay)

    def take_standby(self) -> Standby:
        standby = self.next.take() if self.next is not None else None
        self.next = None
        if standby is None:
            self._launches += 1
            standby = SPAWNER.submit(self, self._launches).result()
        return standby

    def prepare_warm(self, warmer: Warmer) -> None:
        self._warm = SPAWNER.warm(warmer, self.netns_path)

    def take_warm(self) -> Warm | None:
        """What the pool's warmer made for this shell, once; None if it failed or none."""
        future, self._warm = self._warm, None
        if future is None or future.exception() is not None:
            return None
        return future.result()

    def destroy(self, errors: list[str]) -> None:
        if self.next is not None:
            self.next.discard()
            self.next = None
        warm = self.take_warm()
        if warm is not None:
            warm.discard()
        if self.cgroup is not None:
            try:
                self.cgroup.remove()
            except SandboxError as exc:
                errors.append(str(exc))
            self.cgroup = None
        if self.netns_path:
            netns.delete_netns(self.netns_path)
            self.netns_path = ""
        remove_run_dir(self.run_dir, errors)


def remove_run_dir(run_dir: Path, errors: list[str]) -> None:
    """Unmount the tmpfs dirs (their contents vanish with them) and remove our own files.

    Nothing inside work/ or tmp/ is ever walked: the program wrote it.
    """
    for sub in ("work", "tmp"):
        path = run_dir / sub
        if os.path.ismount(path):
            try:
                _libc.umount(str(path))
            except OSError as exc:
                errors.append(f"umount {path}: {exc}")
                continue
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(path)
    etc = run_dir / "etc"
    for name in etc_files():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(etc / name)
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(run_dir):
            # Only our launch scripts live here besides etc/, work/ and tmp/.
            if entry.name.startswith("launch-") and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
    rmdirs((etc, run_dir), errors)


class Pool:
    """At most one pre-built shell (with its standby), refilled after each take."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: RunShell | None = None
        self._filling: threading.Thread | None = None
        self.enabled = os.environ.get("TALLER_SANDBOX_PREWARM", "1") != "0"
        # Set by the runner: what each pre-built shell also gets ready (a warm suite).
        self.warmer: Warmer | None = None

    def _forget_in_child(self) -> None:
        # A forked worker must not share its parent's spare shell; the parent owns it.
        self._lock = threading.Lock()
        self._ready = None
        self._filling = None

    def take(self, state_dir: Path, layout: cgroups.Layout) -> RunShell | None:
        with self._lock:
            shell, self._ready = self._ready, None
        if shell is None:
            return None
        if shell.state_dir != state_dir or shell.layout != layout:
            shell.destroy([])
            return None
        return shell

    def refill(self, state_dir: Path, layout: cgroups.Layout) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._ready is not None or (self._filling and self._filling.is_alive()):
                return
            self._filling = threading.Thread(
                target=self._fill, args=(state_dir, layout), name="sandbox-pool", daemon=True
            )
            self._filling.start()

    def _fill(self, state_dir: Path, layout: cgroups.Layout) -> None:
        try:
            shell = RunShell(state_dir, layout, Limits())
            shell.prepare_standby()
            if self.warmer is not None:
                shell.prepare_warm(self.warmer)
        except Exception:
            # Not fatal: the next run builds its own shell, as the first one did.
            log.warning("could not pre-build a sandbox shell", exc_info=True)
            return
        with self._lock:
            if self._ready is None and self.enabled:
                self._ready = shell
                return
        shell.destroy([])

    def settle(self, timeout: float | None = None) -> bool:
        """Wait for a refill in progress; True if a pre-built shell is ready now."""
        with self._lock:
            filling = self._filling
        if filling is not None:
            filling.join(timeout)
        with self._lock:
            return self._ready is not None

    def drain(self) -> None:
        """Destroy the spare shell (at worker exit, or to disable pre-building)."""
        with self._lock:
            filling = self._filling
        if filling is not None:
            filling.join()
        with self._lock:
            shell, self._ready = self._ready, None
        if shell is not None:
            shell.destroy([])


POOL = Pool()
os.register_at_fork(after_in_child=POOL._forget_in_child)
atexit.register(POOL.drain)
