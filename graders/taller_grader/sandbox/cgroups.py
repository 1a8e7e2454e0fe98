"""One cgroup per run: memory (swap included), pids, CPU quota, CPU time, tree kill.

Both layouts are supported. cgroup v1 (and the "hybrid" layout, v1 controllers plus an
empty cgroup2 mount): memory.memsw, memory.oom_control's `oom_kill` counter, pids,
cpu.cfs_quota_us, cpuacct.usage, and a tree kill through the cgroup2 mount's
`cgroup.kill` when there is one, else through the freezer. cgroup v2: memory.max +
memory.swap.max, memory.events, pids.max, cpu.max, cpu.stat, cgroup.kill.

Run cgroups are created under the worker's own cgroup in each hierarchy, named
`<prefix><worker pid>-<run id>`, so that `sweep()` can tell a crashed worker's leftovers
from a live sibling's.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from taller_grader.sandbox.api import Limits, SandboxError

CPU_PERIOD_US = 100_000
_V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")


@dataclass(frozen=True, slots=True)
class Hierarchy:
    mountpoint: Path
    controllers: frozenset[str]
    own_path: str  # the worker's cgroup inside this hierarchy

    @property
    def parent(self) -> Path:
        return self.mountpoint / self.own_path.lstrip("/")


@dataclass(frozen=True, slots=True)
class Layout:
    version: int  # 1 or 2
    hierarchies: dict[str, Hierarchy]  # controller (or "unified") -> hierarchy


def _read(path: Path) -> str:
    with open(path, encoding="ascii") as handle:
        return handle.read()


def _write(path: Path, value: str) -> None:
    # O_NOFOLLOW: cgroup trees are ours, but never trust a path to be what it claims.
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CREAT, 0o644)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _counter(path: Path, key: str) -> int | None:
    """`key`'s value in a flat keyed file (memory.events, cpu.stat...); None if unreadable."""
    try:
        for line in _read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def _keyed(path: Path, key: str) -> int:
    return _counter(path, key) or 0


def _value(path: Path) -> int | None:
    """A single-value file's number (memory.peak, cpuacct.usage); None if unreadable."""
    try:
        return int(_read(path).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def detect(mountinfo: str = "/proc/self/mountinfo", cgroup: str = "/proc/self/cgroup") -> Layout:
    """Find the cgroup mounts and the worker's own place in each."""
    own: dict[str, str] = {}
    for line in _read(Path(cgroup)).splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            own[name] = path
    v1: dict[str, Hierarchy] = {}
    unified: Hierarchy | None = None
    for line in _read(Path(mountinfo)).splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype, super_opts = fields[sep + 1], fields[sep + 3].split(",")
        root, mountpoint = fields[3], Path(fields[4])
        if fstype == "cgroup2":
            rel = own.get("", "/")
            rel = rel[len(root) :] if root != "/" and rel.startswith(root) else rel
            controllers = frozenset(_read(mountpoint / "cgroup.controllers").split())
            unified = Hierarchy(mountpoint, controllers, rel)
        elif fstype == "cgroup":
            found = [c for c in _V1_CONTROLLERS if c in super_opts]
            for controller in found:
                rel = own.get(controller, "/")
                rel = rel[len(root) :] if root != "/" and rel.startswith(root) else rel
                v1[controller] = Hierarchy(mountpoint, frozenset(found), rel)
    if unified is not None and {"memory", "pids", "cpu"} <= unified.controllers:
        # Under v2 a cgroup with processes cannot hand controllers to its children, so
        # a worker normally runs in a leaf of a delegated subtree and names the subtree's
        # (process-free) top here, e.g. TALLER_CGROUP_PARENT=/system.slice/taller.service.
        override = os.environ.get("TALLER_CGROUP_PARENT")
        if override:
            unified = Hierarchy(unified.mountpoint, unified.controllers, override)
        return Layout(2, {"unified": unified})
    missing = [c for c in ("memory", "pids", "cpu") if c not in v1]
    if missing:
        raise SandboxError(f"cgroup controllers unavailable: {', '.join(missing)}")
    if unified is not None:
        v1["unified"] = unified
        # The cgroup2 mount kills a tree atomically and counts CPU time by itself, so
        # the freezer and cpuacct cgroups would only cost mkdirs and migrations.
        if (unified.parent / "cgroup.kill").exists():
            v1.pop("freezer", None)
        if (unified.parent / "cpu.stat").exists():
            v1.pop("cpuacct", None)
    return Layout(1, v1)


class RunCgroup(ABC):
    """The cgroup(s) of one run."""

    name: str

    @abstractmethod
    def apply(self, limits: Limits) -> None:
        """Set (or reset) the run's limits."""

    @property
    @abstractmethod
    def procs_files(self) -> list[str]:
        """Files a child writes "0" to (before exec) to join the run."""

    @abstractmethod
    def oom_kills(self) -> int: ...

    @abstractmethod
    def pids_refusals(self) -> int:
        """How many forks/clones the pids limit has refused."""

    @abstractmethod
    def cpu_seconds(self) -> float: ...

    @abstractmethod
    def pids(self) -> list[int]: ...

    @abstractmethod
    def kill(self) -> None:
        """SIGKILL every process of the run."""

    @abstractmethod
    def _dirs(self) -> list[Path]: ...

    @abstractmethod
    def set_background(self, background: bool) -> None:
        """Background: CPU only when nothing else wants it (a process started ahead of
        its run must not slow the run in progress); otherwise the usual weight."""

    def memory_view(self) -> list[tuple[str, str]]:
        """(host dir, path inside) binds that show a program, in its own cgroup
        namespace, its memory limit where libuv reads it."""
        return []

    def remove(self, timeout: float = 2.0) -> None:
        """Kill what is left, wait for the cgroup to empty, remove it."""
        deadline = time.monotonic() + timeout
        if self.pids():
            self.kill()
        while self.pids():
            if time.monotonic() > deadline:
                raise SandboxError(f"cgroup {self.name} does not empty")
            time.sleep(0.005)
        for path in self._dirs():
            rmdir_released(path, deadline)


def rmdir_released(path: Path, deadline: float, step: float = 0.005) -> None:
    """Remove an (empty) cgroup dir; gone already is fine. The kernel answers EBUSY for
    a moment while the last exiting task is released: retried until `deadline`."""
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise SandboxError(f"cannot remove cgroup {path}: {exc}") from exc
            time.sleep(step)


def _kill_repeatedly(pids: Callable[[], list[int]], *, pause: float) -> None:
    """SIGKILL whatever `pids()` lists until it lists nothing (50 rounds at most).

    No atomic way: repeated until a fork bomb runs out of time to fork.
    """
    for _ in range(50):
        found = pids()
        if not found:
            return
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if pause:
            time.sleep(pause)


def _pids_in(path: Path) -> list[int]:
    try:
        return [int(x) for x in _read(path / "cgroup.procs").split()]
    except FileNotFoundError:
        return []


class CgroupV1(RunCgroup):
    def __init__(self, layout: Layout, name: str, limits: Limits) -> None:
        self.name = name
        self.dirs: dict[str, Path] = {}
        created: set[Path] = set()
        try:
            for key, hierarchy in layout.hierarchies.items():
                path = hierarchy.parent / name
                if path not in created:
                    path.mkdir(mode=0o755)
                    created.add(path)
                self.dirs[key] = path
            self.apply(limits)
        except BaseException:
            self.remove()
            raise

    def apply(self, limits: Limits) -> None:
        memory = self.dirs["memory"]
        limit = str(limits.memory_mb * 1024 * 1024)
        memsw = memory / "memory.memsw.limit_in_bytes"
        if memsw.exists():
            # memsw must stay >= the memory limit at every step: order by direction.
            current = int(_read(memory / "memory.limit_in_bytes"))
            pairs = [(memory / "memory.limit_in_bytes", limit), (memsw, limit)]
            for path, value in pairs if int(limit) <= current else reversed(pairs):
                _write(path, value)
        else:
            _write(memory / "memory.limit_in_bytes", limit)
            _write(memory / "memory.swappiness", "0")
        _write(self.dirs["pids"] / "pids.max", str(limits.pids))
        _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(int(limits.cpus * CPU_PERIOD_US)))

    @property
    def procs_files(self) -> list[str]:
        return [str(path / "cgroup.procs") for path in self._dirs()]

    def set_background(self, background: bool) -> None:
        _write(self.dirs["cpu"] / "cpu.shares", "2" if background else "1024")

    def memory_view(self) -> list[tuple[str, str]]:
        return [(str(self.dirs["memory"]), "/sys/fs/cgroup/memory")]

    def _dirs(self) -> list[Path]:
        return list(dict.fromkeys(self.dirs.values()))

    def oom_kills(self) -> int:
        return _keyed(self.dirs["memory"] / "memory.oom_control", "oom_kill")

    def pids_refusals(self) -> int:
        return _keyed(self.dirs["pids"] / "pids.events", "max")

    def cpu_seconds(self) -> float:
        if "cpuacct" in self.dirs:
            try:
                return int(_read(self.dirs["cpuacct"] / "cpuacct.usage")) / 1e9
            except FileNotFoundError:
                return 0.0
        return _keyed(self.dirs["unified"] / "cpu.stat", "usage_usec") / 1e6

    def pids(self) -> list[int]:
        return _pids_in(self.dirs["pids"])

    def kill(self) -> None:
        unified = self.dirs.get("unified")
        if unified is not None and (unified / "cgroup.kill").exists():
            _write(unified / "cgroup.kill", "1")
            return
        freezer = self.dirs.get("freezer")
        if freezer is None:
            _kill_repeatedly(self.pids, pause=0.0)
            return
        # Frozen tasks cannot fork, so one pass over cgroup.procs kills every one.
        _write(freezer / "freezer.state", "FROZEN")
        deadline = time.monotonic() + 1.0
        while _read(freezer / "freezer.state").strip() != "FROZEN":
            if time.monotonic() > deadline:
                break
            time.sleep(0.002)
        for pid in _pids_in(freezer):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _write(freezer / "freezer.state", "THAWED")


class CgroupV2(RunCgroup):
    def __init__(self, parent: Path, name: str, limits: Limits) -> None:
        self.name = name
        self.path = parent / name
        try:
            enabled = set(_read(parent / "cgroup.subtree_control").split())
        except FileNotFoundError:
            enabled = set()
        wanted = {"memory", "pids", "cpu"} - enabled
        if wanted:
            try:
                _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted)))
            except OSError as exc:
                raise SandboxError(
                    f"cannot enable {sorted(wanted)} under {parent} ({exc}); the worker "
                    "must run in a leaf of a delegated cgroup and name that cgroup (which "
                    "has no processes of its own) with TALLER_CGROUP_PARENT"
                ) from exc
        self.path.mkdir(mode=0o755)
        try:
            self.apply(limits)
        except BaseException:
            self.remove()
            raise

    def apply(self, limits: Limits) -> None:
        _write(self.path / "memory.max", str(limits.memory_mb * 1024 * 1024))
        _write(self.path / "memory.swap.max", "0")
        _write(self.path / "pids.max", str(limits.pids))
        _write(self.path / "cpu.max", f"{int(limits.cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")

    @property
    def procs_files(self) -> list[str]:
        return [str(self.path / "cgroup.procs")]

    def set_background(self, background: bool) -> None:
        _write(self.path / "cpu.weight", "1" if background else "100")

    def memory_view(self) -> list[tuple[str, str]]:
        return [(str(self.path), "/sys/fs/cgroup")]

    def _dirs(self) -> list[Path]:
        return [self.path]

    def oom_kills(self) -> int:
        return _keyed(self.path / "memory.events", "oom_kill")

    def pids_refusals(self) -> int:
        return _keyed(self.path / "pids.events", "max")

    def cpu_seconds(self) -> float:
        return _keyed(self.path / "cpu.stat", "usage_usec") / 1e6

    def pids(self) -> list[int]:
        return _pids_in(self.path)

    def kill(self) -> None:
        _write(self.path / "cgroup.kill", "1")


def joiner(procs_files: list[str]) -> Callable[[], None]:
    """A preexec function: the child joins the cgroup(s) before it execs, so nothing
    it forks can start outside them. Only os calls: it runs between fork and exec."""
    encoded = [path.encode() for path in procs_files]

    def join() -> None:
        for path in encoded:
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, b"0")
            os.close(fd)

    return join


def write_pid(procs_file: str, pid: int) -> None:
    """Move a process (all its threads) into a cgroup."""
    _write(Path(procs_file), str(pid))


@functools.cache
def layout() -> Layout:
    """This process's layout; mounts and the worker's own cgroup do not change while it runs."""
    return detect()


def create(layout: Layout, name: str, limits: Limits) -> RunCgroup:
    if layout.version == 2:
        return CgroupV2(layout.hierarchies["unified"].parent, name, limits)
    return CgroupV1(layout, name, limits)


def is_run_name(name: str, prefix: str) -> bool:
    """`<prefix><worker pid>-<run id>`: the only names sweep() may touch."""
    return re.fullmatch(re.escape(prefix) + r"[0-9]+-[A-Za-z0-9_]{1,40}", name) is not None


def owner_alive(name: str, prefix: str) -> bool:
    return pid_alive(name[len(prefix) :].split("-", 1)[0])


def pid_alive(pid: str) -> bool:
    """Whether the worker of that pid (as written in a run's name or label) still runs."""
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Leftover(RunCgroup):
    """A run cgroup found by `sweep()`: only killing and removing it make sense."""

    def __init__(self, name: str, dirs: list[Path], unified: Path | None) -> None:
        self.name = name
        self.dirs = dirs
        self.unified = unified

    def apply(self, limits: Limits) -> None:
        pass

    def set_background(self, background: bool) -> None:
        pass  # a leftover is only swept

    @property
    def procs_files(self) -> list[str]:
        return []

    def oom_kills(self) -> int:
        return 0

    def pids_refusals(self) -> int:
        return 0

    def cpu_seconds(self) -> float:
        return 0.0

    def pids(self) -> list[int]:
        return sorted({pid for path in self.dirs for pid in _pids_in(path)})

    def kill(self) -> None:
        if self.unified is not None and (self.unified / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.unified / "cgroup.kill", "1")
        _kill_repeatedly(self.pids, pause=0.002)

    def _dirs(self) -> list[Path]:
        return self.dirs


def sweep(layout: Layout, prefix: str, *, everything: bool = False) -> list[str]:
    """Remove run cgroups whose worker is gone (or all of them); return their names."""
    found: dict[str, list[Path]] = {}
    unified: dict[str, Path] = {}
    for key, hierarchy in layout.hierarchies.items():
        try:
            entries = list(os.scandir(hierarchy.parent))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not is_run_name(entry.name, prefix) or not entry.is_dir(follow_symlinks=False):
                continue
            if not everything and owner_alive(entry.name, prefix):
                continue
            paths = found.setdefault(entry.name, [])
            if Path(entry.path) not in paths:
                paths.append(Path(entry.path))
            if key == "unified":
                unified[entry.name] = Path(entry.path)
    for name, paths in found.items():
        _Leftover(name, paths, unified.get(name)).remove()
    return sorted(found)


# -- containers' cgroups (the docker backend) -------------------------------------------


def root_layout() -> Layout:
    """This host's layout with every hierarchy's place at its root.

    The docker backend makes run cgroups there: `cgroup_parent` is one path for every
    controller, and the worker's own place may differ from one controller to another.
    """
    found = detect()
    return Layout(
        found.version,
        {key: Hierarchy(h.mountpoint, h.controllers, "/") for key, h in found.hierarchies.items()},
    )


def mounts() -> list[Path]:
    """Every cgroup hierarchy's mount point: an engine makes a run's path in all of them
    (blkio, devices, name=systemd...), not only in the ones the limits use."""
    found: list[Path] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for line in lines:
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype in ("cgroup", "cgroup2"):
            found.append(Path(fields[4]))
    return found


def remove_trees(name: str, *, top: bool, timeout: float = 2.0) -> None:
    """rmdir `<mount>/<name>`'s sub-cgroups (podman leaves conmon's), deepest first, and
    with `top` the run's own dirs too; EBUSY is retried while a last task exits."""
    deadline = time.monotonic() + timeout
    for mount in mounts():
        root = mount / name
        if not root.is_dir():
            continue
        found = [Path(d) for d, _, _ in os.walk(root)]
        found.sort(key=lambda p: len(p.parts), reverse=True)
        for path in found:
            if path == root and not top:
                continue
            rmdir_released(path, deadline, step=0.01)


def container_cgroups(
    proc_cgroup: str, container_id: str, root: Path = Path("/sys/fs/cgroup")
) -> tuple[dict[str, Path], Path | None]:
    """The v1 hierarchies' and the v2 cgroup directories of a container, from its init's
    /proc/<pid>/cgroup; only paths that name the container.

    Read too early (the engine has not moved the process yet) or too late (the pid gone,
    or another process's) the file names another cgroup, up to the root, whose CPU usage
    is the whole machine's: the watchdog then killed an honest program for `cpu`.
    """
    v1: dict[str, Path] = {}
    v2: Path | None = None
    if len(container_id) < 12:
        return v1, v2
    for line in proc_cgroup.splitlines():
        try:
            _, names, path = line.split(":", 2)
        except ValueError:
            continue
        if container_id not in path:
            continue
        if names == "":
            candidate = root / path.lstrip("/")
            if (candidate / "memory.events").exists():
                v2 = candidate
            continue
        for name in names.split(","):
            name = name.removeprefix("name=")
            base = root / name
            if base.is_dir():
                v1[name] = base / path.lstrip("/")
    return v1, v2


class ContainerCounters:
    """Read-only view of a container's cgroup, found through its init's /proc entry.

    The engine reports OOM kills unreliably (podman on cgroup v1 says OOMKilled=False for
    an exit 137 that the kernel's OOM killer caused), so the kernel's own counters are
    sampled while the program runs and kept after its cgroup is gone.
    """

    def __init__(self, pid: int, container_id: str) -> None:
        self.v1: dict[str, Path] = {}
        self.v2: Path | None = None
        try:
            text = _read(Path(f"/proc/{pid}/cgroup"))
        except OSError:
            return
        self.v1, self.v2 = container_cgroups(text, container_id)

    def sample(self) -> dict[str, float]:
        """Whatever counters are readable now: oom_kills, pids_max, mem_peak, cpu_us."""
        values: dict[str, int | None] = {}
        if self.v2 is not None:
            values = {
                "oom_kills": _counter(self.v2 / "memory.events", "oom_kill"),
                "pids_max": _counter(self.v2 / "pids.events", "max"),
                "mem_peak": _value(self.v2 / "memory.peak") or _value(self.v2 / "memory.current"),
                "cpu_us": _counter(self.v2 / "cpu.stat", "usage_usec"),
            }
        else:
            if (memory := self.v1.get("memory")) is not None:
                values["oom_kills"] = _counter(memory / "memory.oom_control", "oom_kill")
                values["mem_peak"] = _value(memory / "memory.max_usage_in_bytes")
            if (pids := self.v1.get("pids")) is not None:
                values["pids_max"] = _counter(pids / "pids.events", "max")
            if (cpuacct := self.v1.get("cpuacct")) is not None:
                usage = _value(cpuacct / "cpuacct.usage")
                values["cpu_us"] = None if usage is None else usage // 1000
        return {key: float(value) for key, value in values.items() if value is not None}
