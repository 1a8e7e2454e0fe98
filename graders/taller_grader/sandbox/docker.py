"""The container backend: a run = one network holder + one container per program.

Driven through the Docker Engine API (`docker` SDK); tested against podman's
Docker-compatible service. Design:

- Each run has a *holder* container (`sleep infinity`, `network_mode="none"`): it owns
  the run's network namespace (only `lo`). Every program of the run is its own
  container joined to it with `network_mode="container:<holder>"`, so programs reach
  each other and the per-run services on 127.0.0.1, and nothing else. The grader reaches
  the same loopback through `netns_path`: `/proc/<holder pid>/ns/net` bind-mounted at
  `/run/netns/<run>` (the engine must run on the worker's host, which the per-run
  services need anyway).
- One container per program, not `exec` per program: a container gives each program its
  own pid namespace and cgroup, so `kill()` is one API call that also takes daemons and
  forks, `wait()` and the exit status come from the engine, and OOM/pids evidence is per
  program. `exec` has no kill, no own cgroup and an exit code only by polling.
- Programs run under the engine's init (catatonit/tini, `init=True`): PID 1 forwards
  `signal()` to the program's main process, which as PID 1 itself would ignore SIGTERM.
- /work and /tmp are host tmpfs mounts (size and inode capped), /work written with
  `files.write_tree`, both bound into every program of the run, as with bubblewrap.
- Output is read from an attach stream opened before start, capped per stream; the
  engine keeps no log (`log_config none`), so a flood fills no disk.
- Limits (memory = memory+swap, pids, CPU quota) are set on each container and, when
  the engine manages cgroups with cgroupfs, on one cgroup over the whole run
  (`cgroup_parent`), as with bubblewrap; wall and CPU-seconds are enforced here by a
  watchdog, as in the bubblewrap backend.
"""

from __future__ import annotations

import contextlib
import os
import signal as signal_mod
import socket
import struct
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Unpack

from taller_grader.sandbox import _libc, cgroups, common, files, netns
from taller_grader.sandbox.api import ExitInfo, GraderCommand, Limits, SandboxError
from taller_grader.sandbox.base import RunOptions, SandboxBase
from taller_grader.sandbox.common import INSIDE_UID, INSIDE_WORKDIR, default_state_dir
from taller_grader.sandbox.container_grader import ContainerGrader
from taller_grader.sandbox.engine import (
    cgroup_driver,
    connect,
    docker_image,
    seccomp_option,
    ulimits,
)
from taller_grader.sandbox.program import ProgramBase, exit_status, limit_reason

try:  # the SDK is only needed by this backend; bwrap-only workers may lack it
    import docker
    import docker.errors
    import docker.types
except ImportError:  # pragma: no cover - reported when a DockerSandbox is built
    docker = None  # type: ignore[assignment]

PREFIX = "taller-docker-"
LABEL_RUN = "taller.run"
LABEL_OWNER = "taller.owner"  # "<hostname>:<worker pid>", for the janitor
LABEL_ROLE = "taller.role"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# -- output -----------------------------------------------------------------------------


def _raw_socket(sock: Any) -> socket.socket:
    # The SDK wraps the attach socket (SocketIO, NpipeSocket...); we read frames ourselves.
    raw = getattr(sock, "_sock", sock)
    if not isinstance(raw, socket.socket):
        raise SandboxError(f"unexpected attach socket {type(sock).__name__}")
    return raw


def _recv_exact(sock: socket.socket, size: int, sink: bytearray | None) -> bool:
    """Read `size` bytes (into `sink` when given); False at EOF."""
    left = size
    while left > 0:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return False
        if sink is not None:
            sink += chunk
        left -= len(chunk)
    return True


# -- programs ---------------------------------------------------------------------------


class DockerProgram(ProgramBase):
    """One program: one container in the run's network namespace."""

    def __init__(self, sandbox: DockerSandbox, name: str, container_id: str) -> None:
        super().__init__(name, sandbox.limits)
        self.container_id = container_id
        self._sandbox = sandbox
        self._api = sandbox.client.api
        self.init_pid: int | None = None
        self._cgroup: cgroups.ContainerCounters | None = None
        self.evidence: dict[str, float] = {}
        self._sock: socket.socket | None = None
        self._readers: list[threading.Thread] = []
        run_cgroup = sandbox.run_cgroup
        # The run's counters before this program: what it alone caused is the difference.
        self._run_oom_before = run_cgroup.oom_kills() if run_cgroup is not None else 0
        self._run_pids_before = run_cgroup.pids_refusals() if run_cgroup is not None else 0
        self._monitor: threading.Thread | None = None

    def _begin(self) -> None:
        """Attach (before start, so nothing is missed), start, then watch."""
        # The excess past the cap is read and dropped, never left unread: podman (4.3)
        # stalls the program's writes once its attached client goes away, and blocked
        # writes would turn a chatty program into a wall-clock kill. The relay costs
        # the engine ~40 MB/s here, so a GB flood needs a wall limit of ~25 s.
        attached = self._api.attach_socket(
            self.container_id, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 0}
        )
        self._sock = _raw_socket(attached)
        self._sock.settimeout(None)
        reader = threading.Thread(target=self._read, name=f"out-{self.name}", daemon=True)
        reader.start()
        self._readers.append(reader)
        self._api.start(self.container_id)
        self.started = time.monotonic()
        state = self._api.inspect_container(self.container_id)["State"]
        pid = int(state.get("Pid") or 0)
        if pid > 0:
            self.init_pid = pid
            self._cgroup = cgroups.ContainerCounters(pid, self.container_id)
            self.sample()
        self._monitor = threading.Thread(target=self._watch, name=f"mon-{self.name}", daemon=True)
        self._monitor.start()

    def sample(self) -> None:
        """Keep the latest kernel counters (called by the watchdog while running)."""
        if self._cgroup is not None:
            self.evidence.update(self._cgroup.sample())

    def _read(self) -> None:
        # Multiplexed stream: 8-byte header (stream 1|2, 3 zero bytes, big-endian size).
        assert self._sock is not None
        header = bytearray()
        try:
            while True:
                header.clear()
                if not _recv_exact(self._sock, 8, header):
                    return
                kind, size = struct.unpack(">BxxxL", header)
                capture = self._stderr if kind == 2 else self._stdout
                room = capture.cap - len(capture.data)
                keep = min(room, size) if room > 0 else 0
                body = bytearray()
                if keep and not _recv_exact(self._sock, keep, body):
                    capture.add(bytes(body))
                    return
                capture.add(bytes(body))
                if size > keep:
                    capture.truncated = True
                    if not _recv_exact(self._sock, size - keep, None):
                        return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                self._sock.close()

    def _blocking_wait(self, box: dict[str, int], done: threading.Event) -> None:
        try:
            # Ends at the exit, or once _watch has seen it (then the wait is only spare).
            while "code" not in box and not self._done.is_set():
                try:
                    result = self._api.wait(self.container_id, timeout=3600)
                    box["code"] = int(result.get("StatusCode", -1))
                except Exception:
                    # A timed-out or dropped wait: the container may still be running.
                    exited = self._exited()
                    if exited is not None:
                        box["code"] = exited[0]
                    else:
                        self._done.wait(0.5)
        finally:
            done.set()

    def _exited(self) -> tuple[int, bool] | None:
        """(exit code, OOMKilled) once the container has stopped; None while it runs."""
        try:
            state = self._api.inspect_container(self.container_id)["State"]
        except docker.errors.NotFound:
            return (-1, False)
        except Exception:
            return None
        if state.get("Running") or state.get("Status") in ("created", "configured"):
            return None
        return int(state.get("ExitCode", -1)), bool(state.get("OOMKilled"))

    def _watch(self) -> None:
        box: dict[str, int] = {}
        waited = threading.Event()
        threading.Thread(
            target=self._blocking_wait, args=(box, waited), name=f"wait-{self.name}", daemon=True
        ).start()
        # The attach stream ends when the program's stdio closes, nearly always at its
        # exit; from then on inspect tells the exit ~0.1-0.7 s sooner than podman's wait
        # (which polls). The blocking wait stays the fallback: a program may close its
        # stdio and keep running, and inspect is polled with a growing delay.
        while not waited.is_set() and any(r.is_alive() for r in self._readers):
            waited.wait(0.02)
        exited: tuple[int, bool] | None = None
        delay = 0.005
        while exited is None and not waited.is_set():
            exited = self._exited()
            if exited is None:
                waited.wait(delay)
                delay = min(delay * 2, 0.25)
        if exited is None:
            exited = self._exited() or (box.get("code", -1), False)
            exited = (box.get("code", exited[0]), exited[1])
        for reader in self._readers:
            reader.join(timeout=5.0)
        self.sample()  # the last counters, if the engine has not removed the cgroup yet
        self._exit = self._exit_info(*exited)
        self._done.set()

    def pids_limit_reached(self) -> bool:
        run_cgroup = self._sandbox.run_cgroup
        if run_cgroup is not None and run_cgroup.pids_refusals() > self._run_pids_before:
            return True
        return self.evidence.get("pids_max", 0) > 0

    def _exit_info(self, code: int, oom_flag: bool) -> ExitInfo:
        # The init reports a program killed by signal N as 128+N, as shells do.
        exit_code, signum = exit_status(code)
        evidence = self.evidence
        limit = self._limits.memory_mb * 1024 * 1024
        run_cgroup = self._sandbox.run_cgroup
        run_oom = run_cgroup is not None and run_cgroup.oom_kills() > self._run_oom_before
        run_pids = run_cgroup is not None and run_cgroup.pids_refusals() > self._run_pids_before
        oom = oom_flag or run_oom or evidence.get("oom_kills", 0) > 0
        # A SIGKILL we did not send with the peak at the limit is the OOM killer's
        # even when its counter was missed (the cgroup can vanish before a sample).
        near_limit = evidence.get("mem_peak", 0) >= 0.9 * limit
        reason = limit_reason(
            self._kill_reason,
            exit_code,
            self._stderr.data,
            oom=oom or (signum == 9 and near_limit),
            pids=run_pids or evidence.get("pids_max", 0) > 0,
        )
        return ExitInfo(exit_code=exit_code, signal=signum, reason=reason)

    def signal(self, signum: int) -> None:
        with self._lock:
            if self._done.is_set():
                return
            with contextlib.suppress(Exception):
                self._api.kill(self.container_id, signal=int(signum))

    def _send_kill(self) -> None:
        # SIGKILL to the container's PID 1 ends its pid namespace: every process in it.
        with contextlib.suppress(Exception):
            self._api.kill(self.container_id, signal=int(signal_mod.SIGKILL))


# -- the run ----------------------------------------------------------------------------


class DockerSandbox(SandboxBase[DockerProgram]):
    """One run. Build it with `open_sandbox(..., backend="docker")`; a context manager."""

    close_wait = 10.0

    def __init__(
        self,
        files_: Mapping[str, bytes],
        limits: Limits,
        *,
        docker_url: str | None = None,
        image: str | None = None,
        client: Any = None,
        **options: Unpack[RunOptions],
    ) -> None:
        super().__init__(files_, limits, **options)
        self.name = f"{PREFIX}{os.getpid()}-{self.run_id}"
        self.image = image or docker_image()
        self.run_dir = self.state_dir / self.name
        self.workdir = self.run_dir / "work"
        self.tmpdir = self.run_dir / "tmp"
        self.netns_path = ""
        self.holder_id: str | None = None
        self.holder_pid: int | None = None
        self.run_cgroup: cgroups.RunCgroup | None = None
        self.cgroup_parent: str | None = None
        self._mounted: list[Path] = []
        self._own_client = client is None
        self.client = client if client is not None else connect(docker_url)
        try:
            self._build_workdir(self.entries)
            self._make_run_cgroup()
            self._start_holder()
        except BaseException:
            self.close()
            raise

    # -- setup ------------------------------------------------------------------------

    def _labels(self, role: str) -> dict[str, str]:
        return {LABEL_RUN: self.name, LABEL_OWNER: _owner(), LABEL_ROLE: role}

    def _build_workdir(self, entries: list[files.Entry]) -> None:
        self.run_dir.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.run_dir.mkdir(mode=0o700)
        # Host tmpfs mounts, bound into every program of the run (shared, as with
        # bubblewrap): size *and* inode caps, which the engines' own tmpfs option does
        # not offer alike (podman refuses nr_inodes).
        for path, size in (
            (self.workdir, self.limits.workdir_mb),
            (self.tmpdir, self.limits.tmp_mb),
        ):
            path.mkdir(mode=0o700)
            _libc.mount(
                "tmpfs",
                str(path),
                "tmpfs",
                _libc.MS_NOSUID | _libc.MS_NODEV,
                f"size={size}m,nr_inodes={self.limits.workdir_inodes},"
                f"mode=0755,uid={INSIDE_UID},gid={INSIDE_UID}",
            )
            self._mounted.append(path)
        files.write_tree(self.workdir, entries, INSIDE_UID, INSIDE_UID)
        # Left 0700: programs reach their dirs through the bind mounts, never this path,
        # so no host account (uid 1000 may exist on the host) can reach them.

    def _hardening(self) -> dict[str, Any]:
        return {
            "user": f"{INSIDE_UID}:{INSIDE_UID}",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": [
                "no-new-privileges",
                seccomp_option(self.client, self.run_dir.parent),
            ],
            "ipc_mode": "private",
            "log_config": docker.types.LogConfig(type="none"),
            "detach": True,
            "stdin_open": False,
            "tty": False,
        }

    def _make_run_cgroup(self) -> None:
        """One cgroup over all the run's containers: the limits hold for the run as a
        whole, as with bubblewrap (each container keeps its own limits too).

        Only with the cgroupfs manager, where `cgroup_parent` is a plain path (podman
        here, Docker configured so); under systemd it would have to be a slice, and the
        limits are per container only.
        """
        if cgroup_driver(self.client) != "cgroupfs":
            return
        self.run_cgroup = cgroups.create(cgroups.root_layout(), self.name, self.limits)
        self.cgroup_parent = "/" + self.name

    def _start_holder(self) -> None:
        try:
            holder = self.client.api.create_container(
                self.image,
                command=["sleep", "infinity"],
                labels=self._labels("net"),
                name=f"{self.name}-net",
                hostname="taller",
                host_config=self.client.api.create_host_config(
                    network_mode="none",
                    cgroup_parent=self.cgroup_parent,
                    read_only=True,
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    pids_limit=8,
                    mem_limit=16 * 1024 * 1024,
                    memswap_limit=16 * 1024 * 1024,
                    log_config=docker.types.LogConfig(type="none"),
                ),
                user=f"{INSIDE_UID}:{INSIDE_UID}",
            )
            self.holder_id = holder["Id"]
            self.client.api.start(self.holder_id)
            state = self.client.api.inspect_container(self.holder_id)["State"]
        except docker.errors.DockerException as exc:
            raise SandboxError(f"cannot start the run's network holder: {exc}") from exc
        pid = int(state.get("Pid") or 0)
        if pid <= 0:
            raise SandboxError("the run's network holder has no pid (engine on another host?)")
        self.holder_pid = pid
        source = f"/proc/{pid}/ns/net"
        if os.readlink(source) == os.readlink("/proc/self/ns/net"):
            raise SandboxError("the network holder shares the worker's network namespace")
        # /proc/<pid>/ns/net is a magic link, which netns helpers refuse (O_NOFOLLOW), and
        # a pid can be reused: a bind mount under /run/netns is a plain, stable path that
        # keeps this very namespace (and `ip netns` lists it, which helps debugging).
        os.makedirs(netns.NETNS_DIR, mode=0o755, exist_ok=True)
        path = os.path.join(netns.NETNS_DIR, self.name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
        os.close(fd)
        try:
            _libc.mount(source, path, None, _libc.MS_BIND, None)
        except BaseException:
            os.unlink(path)
            raise
        self.netns_path = path

    # -- programs ---------------------------------------------------------------------

    def _env(self, env: Mapping[str, str] | None) -> dict[str, str]:
        return common.program_env(self.limits, self.grants, env)

    def _inside_cwd(self, parts: tuple[str, ...]) -> str:
        if parts:
            # The runtime would create a missing cwd (as root, inside /work): refuse it,
            # as bubblewrap does; the walk never follows a link the program made.
            try:
                with files._walk(self.workdir, parts):
                    pass
            except OSError as exc:
                raise SandboxError(f"bad cwd {'/'.join(parts)!r}: {exc.strerror}") from exc
        return super()._inside_cwd(parts)

    def _launch(self, argv: list[str], env: dict[str, str], cwd: str, name: str) -> DockerProgram:
        limits = self.limits
        memory = limits.memory_mb * 1024 * 1024
        mounts = [
            docker.types.Mount(INSIDE_WORKDIR, str(self.workdir), type="bind", read_only=False),
            docker.types.Mount("/tmp", str(self.tmpdir), type="bind", read_only=False),
        ]
        for grant in self.grants:
            for host, inside in grant.binds:
                mounts.append(docker.types.Mount(inside, host, type="bind", read_only=False))
        hardening = self._hardening()
        try:
            created = self.client.api.create_container(
                self.image,
                command=argv,
                environment=env,
                working_dir=cwd,
                user=hardening.pop("user"),
                labels={**self._labels("program"), "taller.program": name[:64]},
                name=f"{self.name}-{len(self.programs)}",
                stdin_open=hardening.pop("stdin_open"),
                tty=hardening.pop("tty"),
                detach=hardening.pop("detach"),
                host_config=self.client.api.create_host_config(
                    network_mode=f"container:{self.holder_id}",
                    cgroup_parent=self.cgroup_parent,
                    init=True,
                    mounts=mounts,
                    pids_limit=limits.pids,
                    mem_limit=memory,
                    memswap_limit=memory,
                    nano_cpus=int(limits.cpus * 1e9),
                    ulimits=ulimits(),
                    **hardening,
                ),
            )
            program = DockerProgram(self, name, created["Id"])
            program._begin()
        except docker.errors.DockerException as exc:
            raise SandboxError(f"cannot start {name}: {exc}") from exc
        return program

    def start_grader(self, command: GraderCommand) -> ContainerGrader:
        """The suite's interpreter, as a container of the run (`container_grader.py`)."""
        with self._lock:
            if self._closed:
                raise SandboxError("sandbox is closed")
            return ContainerGrader(self, command)

    def cpu_seconds(self) -> float:
        return sum(p.evidence.get("cpu_us", 0.0) for p in self.programs) / 1e6

    def _sample(self, live: list[DockerProgram]) -> None:
        for program in live:
            program.sample()

    # -- cleanup ----------------------------------------------------------------------

    def _teardown(self, errors: list[str], *, first: bool) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            errors += _remove_run_containers(client, self.name)
        if self.run_cgroup is not None:
            try:
                cgroups.remove_trees(self.name, top=False)
                self.run_cgroup.remove()
                cgroups.remove_trees(self.name, top=True)
                self.run_cgroup = None
            except SandboxError as exc:
                errors.append(str(exc))
        if self.netns_path:
            netns.delete_netns(self.netns_path)
            self.netns_path = ""
        for path in list(self._mounted):
            try:
                _libc.umount(str(path))
                self._mounted.remove(path)
            except OSError as exc:
                errors.append(f"umount {path}: {exc}")
        if not self._mounted:
            _remove_dirs(self.run_dir, errors)
        if client is not None and self._own_client and first:
            with contextlib.suppress(Exception):
                client.close()


def _remove_run_containers(client: Any, run_name: str) -> list[str]:
    """Force-remove every container labelled with the run (programs first, holder last)."""
    errors: list[str] = []
    try:
        found = client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={run_name}"})
    except Exception as exc:
        return [f"list containers of {run_name}: {exc}"]
    found.sort(key=lambda c: (c.get("Labels") or {}).get(LABEL_ROLE) == "net")
    for container in found:
        try:
            client.api.remove_container(container["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass
        except Exception as exc:
            errors.append(f"remove container {container['Id'][:12]}: {exc}")
    return errors


def _remove_dirs(run_dir: Path, errors: list[str]) -> None:
    # Only our own empty dirs: the work tmpfs is unmounted first, so nothing the program
    # wrote is ever walked.
    common.rmdirs((run_dir / "work", run_dir / "tmp", run_dir), errors)


def sweep(
    *,
    client: Any = None,
    docker_url: str | None = None,
    state_dir: Path | None = None,
    everything: bool = False,
) -> list[str]:
    """Remove what crashed workers left: containers labelled `taller.run`, run dirs.

    Only runs whose worker (same host, pid gone) is dead are touched unless
    `everything`, so it is safe at any worker's start with siblings running.
    """
    own_client = client is None
    client = client if client is not None else connect(docker_url)
    removed: list[str] = []
    host = socket.gethostname()
    try:
        runs: dict[str, str] = {}
        for container in client.api.containers(all=True, filters={"label": LABEL_RUN}):
            labels = container.get("Labels") or {}
            runs[labels[LABEL_RUN]] = labels.get(LABEL_OWNER, "")
        for run_name, owner in runs.items():
            owner_host, _, owner_pid = owner.rpartition(":")
            if not everything and (owner_host != host or cgroups.pid_alive(owner_pid)):
                continue
            _remove_run_containers(client, run_name)
            removed.append(f"containers {run_name}")
    finally:
        if own_client:
            client.close()
    try:
        layout = cgroups.root_layout()
        for mount in cgroups.mounts():
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(mount):
                    if cgroups.is_run_name(entry.name, PREFIX) and (
                        everything or not cgroups.owner_alive(entry.name, PREFIX)
                    ):
                        cgroups.remove_trees(entry.name, top=False)
        swept = cgroups.sweep(layout, PREFIX, everything=everything)
        for name in swept:
            cgroups.remove_trees(name, top=True)
        removed += [f"cgroup {n}" for n in swept]
    except SandboxError as exc:
        removed.append(f"cgroups not swept: {exc}")
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(netns.NETNS_DIR):
            pid = entry.name[len(PREFIX) :].split("-", 1)[0]
            if entry.name.startswith(PREFIX) and (everything or not cgroups.pid_alive(pid)):
                netns.delete_netns(entry.path)
                removed.append(f"netns {entry.name}")
    directory = state_dir or default_state_dir()
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            pid = entry.name[len(PREFIX) :].split("-", 1)[0]
            if not everything and cgroups.pid_alive(pid):
                continue
            errors: list[str] = []
            for sub in ("work", "tmp"):
                mounted = Path(entry.path) / sub
                if os.path.ismount(mounted):
                    with contextlib.suppress(OSError):
                        _libc.umount(str(mounted))
            _remove_dirs(Path(entry.path), errors)
            removed.append(f"dir {entry.name}")
    return removed
