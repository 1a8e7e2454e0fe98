"""Benchmark: `grade ssr` (a Next.js production build and start) beside its floor.

    .venv/bin/python bench/ssr.py [--runs 5] [--report bench/reports/ssr.md]

Needs root (the sandbox). Side by side, in rounds, so that the machine's drift lands on
both alike:

- the floor: the reference solution built and served bare, in a folder of its own with
  the runtime's modules beside it (the Next.js config the platform writes, the
  manifest's environment): a clean `next build` (no `.next` at all), `next start` until
  its port accepts, then the ssr suite on an interpreter started beforehand with pytest
  and the SDK imported (the warm floor of bench/pipeline.py);
- the grade: the runner's `grade()` on the same files, as `manage.py grade ssr` and the
  worker call it (the sandbox, the exercise's build cache, the suite in its sandbox).

CPU is the processes' own (what the bench reaped: every program of a run and its suite,
and the runner's threads), which the machine's other sessions move less than wall time.
The report ends with a line a script can read: `ratio ssr/floor: Z`.

`measure()` and `section()` are what bench/pipeline.py calls for its optional ssr part.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "graders"))

from taller_grader.manifest import Manifest  # noqa: E402
from taller_grader.results import Results  # noqa: E402
from taller_grader.runner import (  # noqa: E402
    Collected,
    Event,
    RunnerConfig,
    TestFinished,
    grade,
    spec_from_run,
)
from taller_grader.sandbox.shell import POOL  # noqa: E402
from taller_grader.suite import ENTRY, PYTEST_ARGS  # noqa: E402

EXERCISE = REPO / "exercises" / "ssr"
GRADER = REPO / "graders" / "ssr"
RUNTIME = REPO / "runtime"
NEXT = RUNTIME / "node_modules" / "next" / "dist" / "bin" / "next"
# What graders/ssr/inject/run-next.mjs writes when the student brings no config.
NEXT_CONFIG = 'export default { turbopack: { root: "/" }, outputFileTracingRoot: "/" };\n'


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _manifest() -> dict[str, object]:
    return tomllib.loads((EXERCISE / "manifest.toml").read_text())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CpuMeter:
    """CPU seconds of this process and of everything it starts: a cpuacct cgroup it moves
    into (the sandboxes' cgroups are made below the worker's own, so they count too);
    without one, what the bench reaped, which misses what a sandbox's init reaped."""

    def __init__(self) -> None:
        self.cgroup: Path | None = Path(f"/sys/fs/cgroup/cpuacct/bench-ssr-{os.getpid()}")
        self.home: Path | None = None
        try:
            home = Path("/sys/fs/cgroup/cpuacct") / _own_cgroup("cpuacct").lstrip("/")
            self.cgroup.mkdir()
            (self.cgroup / "cgroup.procs").write_text(str(os.getpid()))
            self.home = home
        except OSError:
            self.cgroup = None

    def read(self) -> float:
        if self.cgroup is not None:
            return int((self.cgroup / "cpuacct.usage").read_text()) / 1e9
        usage = [
            resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        ]
        return sum(u.ru_utime + u.ru_stime for u in usage)

    def close(self) -> None:
        if self.cgroup is None or self.home is None:
            return
        # The worker's spare shell and its suite interpreter live in the cgroup too.
        POOL.drain()
        (self.home / "cgroup.procs").write_text(str(os.getpid()))
        for child in sorted(self.cgroup.rglob("*"), reverse=True):
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            self.cgroup.rmdir()


def _own_cgroup(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    raise OSError(f"no {controller} cgroup")


METER: CpuMeter | None = None


def _cpu() -> float:
    global METER
    if METER is None:
        METER = CpuMeter()
    return METER.read()


def _close_meter() -> None:
    global METER
    if METER is not None:
        METER.close()
        METER = None


@dataclass
class Run:
    seconds: float
    cpu: float
    # Named parts of `seconds` (the build, the start, the suite, ...), in order.
    phases: dict[str, float] = field(default_factory=dict)


# The floor -------------------------------------------------------------------------------


class Floor:
    """The reference built, started and graded with no platform around it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "node_modules").symlink_to(RUNTIME / "node_modules")
        self.app = root / "app"
        for name, data in _files(EXERCISE / "solution").items():
            (self.app / name).parent.mkdir(parents=True, exist_ok=True)
            (self.app / name).write_bytes(data)
        (self.app / "next.config.mjs").write_text(NEXT_CONFIG)
        (root / "suite").mkdir()
        for test in GRADER.glob("*.py"):
            (root / "suite" / test.name).write_bytes(test.read_bytes())
        self.port = _free_port()
        self.info = root / "run.json"
        self.info.write_text(json.dumps({"env": {}, "programs": {"web": {"port": self.port}}}))
        run = _manifest()["run"]
        assert isinstance(run, dict)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.app),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PORT": str(self.port),
            **run.get("env", {}),
        }

    def _warm_suite(self) -> subprocess.Popen[bytes]:
        popen = subprocess.Popen(
            [sys.executable, "-m", ENTRY], cwd=self.root / "suite", stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "TALLER_RUN_INFO": str(self.info),
                 "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"},
        )  # fmt: skip
        _wait_idle(popen.pid)
        return popen

    def once(self, *, cached: bool = False) -> Run:
        """A clean build, or (`cached`) one that finds the cache its previous build left in
        `.next/cache`: the same app's, which no platform-made cache can beat."""
        suite = self._warm_suite()
        if cached:
            for entry in (self.app / ".next").iterdir():
                if entry.name != "cache":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        else:
            shutil.rmtree(self.app / ".next", ignore_errors=True)
        before = _cpu()
        started = time.monotonic()
        build = subprocess.run(
            ["node", str(NEXT), "build"], cwd=self.app, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )  # fmt: skip
        if build.returncode != 0:
            raise RuntimeError(f"the floor's build failed:\n{build.stderr.decode()[-3000:]}")
        built = time.monotonic()
        server = subprocess.Popen(
            ["node", str(NEXT), "start", "-p", str(self.port)], cwd=self.app, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.05).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise RuntimeError("the floor's `next start` exited") from None
                    time.sleep(0.005)
            ready = time.monotonic()
            assert suite.stdin is not None
            suite.stdin.write(json.dumps([*PYTEST_ARGS[:-1], str(self.root / "suite")]).encode())
            suite.stdin.write(b"\n")
            suite.stdin.close()
            code = suite.wait()
            finished = time.monotonic()
            if code != 0:
                raise RuntimeError(f"the floor's suite exited with {code}")
        finally:
            server.kill()
            server.wait()
        return Run(
            finished - started,
            _cpu() - before,
            {"build": built - started, "start": ready - built, "suite": finished - ready},
        )


def _wait_idle(pid: int, timeout: float = 30.0) -> None:
    """Until a warm interpreter has done its imports and blocks on its stdin."""
    deadline = time.monotonic() + timeout
    last, steady = -1, 0
    while steady < 3 and time.monotonic() < deadline:
        time.sleep(0.03)
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        now = int(fields[11]) + int(fields[12])
        steady = steady + 1 if now == last and now > 0 else 0
        last = now


# The grade -------------------------------------------------------------------------------

# What Next prints of its own timings (the program's stdout in the results).
_COMPILED = re.compile(r"Compiled successfully in ([\d.]+)(ms|s)")
_READY = re.compile(r"Ready in ([\d.]+)(ms|s)")


def _next_seconds(pattern: re.Pattern[str], text: str) -> float | None:
    found = pattern.search(text)
    if found is None:
        return None
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


def grade_once(
    config: RunnerConfig | None = None, *, build_cache: bool = True
) -> tuple[Run, Results]:
    """The reference graded through the runner, as `manage.py grade ssr` does
    (`build_cache=False`: as it did before the exercise had one)."""
    spec = spec_from_run(
        "ssr",
        Manifest.model_validate(_manifest()).run,
        {k: v.decode() for k, v in _files(GRADER).items()},
    )
    if not build_cache:
        spec = replace(spec, build_cache=None)
    config = config or RunnerConfig(runtime_dir=RUNTIME)
    marks: dict[str, float] = {}

    def on_events(events: Sequence[Event]) -> None:
        now = time.monotonic()
        for event in events:
            if isinstance(event, Collected):
                marks.setdefault("collected", now)
            elif isinstance(event, TestFinished):
                marks.setdefault("first test", now)
                marks["last test"] = now

    def on_verdict(results: Results) -> None:
        marks["verdict"] = time.monotonic()

    before = _cpu()
    started = time.monotonic()
    results = grade(spec, _files(EXERCISE / "solution"), config, on_events, on_verdict=on_verdict)
    finished = time.monotonic()
    cpu = _cpu() - before
    if results.status.value != "passed":
        raise RuntimeError(f"the reference did not pass: {results.output}\n{results.stdout}")
    phases = {}
    compiled = _next_seconds(_COMPILED, results.stdout)
    if compiled is not None:
        phases["Next's own 'Compiled … in'"] = compiled
    ready = _next_seconds(_READY, results.stdout)
    if ready is not None:
        phases["Next's own 'Ready in' (start)"] = ready
    if "first test" in marks:
        phases["start of grade → first test's result"] = marks["first test"] - started
        phases["first → last test's result"] = marks["last test"] - marks["first test"]
    if "verdict" in marks:
        phases["last result → verdict"] = marks["verdict"] - marks.get("last test", started)
        phases["verdict → grade() returned (teardown)"] = finished - marks["verdict"]
    return Run(finished - started, cpu, phases), results


# Side by side ----------------------------------------------------------------------------


@dataclass
class Measured:
    floor: list[Run]
    graded: list[Run]
    cached_floor: list[Run]
    load_before: float
    load_after: float

    @property
    def ratio(self) -> float:
        return statistics.median(r.seconds for r in self.graded) / statistics.median(
            r.seconds for r in self.floor
        )


def measure(runs: int = 5, *, log: bool = True, build_cache: bool = True) -> Measured:
    """`runs` rounds of floor then grade, after one of each to warm the page cache."""
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="taller-bench-ssr-"))
    try:
        floor = Floor(work / "floor")
        floor.once()
        grade_once(build_cache=build_cache)
        floors: list[Run] = []
        graded: list[Run] = []
        cached: list[Run] = []
        for number in range(runs):
            floors.append(floor.once())
            cached.append(floor.once(cached=True))
            graded.append(grade_once(build_cache=build_cache)[0])
            if log:
                print(
                    f"ssr round {number + 1}/{runs}: floor {floors[-1].seconds:.2f} s "
                    f"({floors[-1].cpu:.2f} s CPU), cached floor {cached[-1].seconds:.2f} s "
                    f"({cached[-1].cpu:.2f} s CPU), grade {graded[-1].seconds:.2f} s "
                    f"({graded[-1].cpu:.2f} s CPU)",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _close_meter()
    return Measured(floors, graded, cached, load_before, os.getloadavg()[0])


def _median_phases(runs: list[Run]) -> dict[str, float]:
    names = dict.fromkeys(name for run in runs for name in run.phases)
    return {
        name: statistics.median(run.phases[name] for run in runs if name in run.phases)
        for name in names
    }


def section(measured: Measured, heading: str = "##") -> str:
    """The report's text, ending with `ratio ssr/floor: Z` (no trailing blank line)."""
    floor, graded, cached = measured.floor, measured.graded, measured.cached_floor

    def row(name: str, values: list[Run]) -> str:
        seconds = [r.seconds for r in values]
        return (
            f"| {name} | {statistics.median(seconds):.2f} s | {min(seconds):.2f} s "
            f"| {statistics.median(r.cpu for r in values):.2f} s "
            f"| {', '.join(f'{s:.2f}' for s in seconds)} |\n"
        )

    phases = "".join(
        f"| {label}: {name} | {seconds:.2f} s |\n"
        for label, runs in (("floor", floor), ("cached floor", cached), ("grade", graded))
        for name, seconds in _median_phases(runs).items()
    )
    to_cached = statistics.median(r.seconds for r in graded) / statistics.median(
        r.seconds for r in cached
    )
    return f"""{heading} `grade ssr` beside its floor, side by side

{len(floor)} rounds, load average {measured.load_before:.1f} before and
{measured.load_after:.1f} after ({os.cpu_count()} cores), by `bench/ssr.py`. Floor: a
clean `next build` of the reference (no `.next`), `next start` until its port accepts,
the ssr suite on a warm interpreter. Cached floor: the same, its build finding the cache
the previous one left (the same app's: the best any cache can do). Grade: the runner's
`grade()` on the same files, as the worker and `manage.py grade ssr` call it.

| path | median | best | CPU (median) | each run |
|---|---|---|---|---|
{row("floor", floor)}{row("cached floor", cached)}{row("grade ssr", graded)}
| phase (medians) | |
|---|---|
{phases}
Grade / cached floor: {to_cached:.2f}× (what the sandbox, and a cache made from an app
that is not the student's, still cost beyond the best any build cache can do).

ratio ssr/floor: {measured.ratio:.2f}"""


def into_report(report: str, runs: int) -> str:
    """Another bench's report with this one's section before its closing lines for
    scripts (`name: value`), and `ratio ssr/floor: Z` last (bench/pipeline.py --ssr)."""
    lines = report.rstrip("\n").split("\n")
    closing = len(lines)
    while closing > 0 and re.fullmatch(r"[\w ./-]+: [\d.]+", lines[closing - 1]):
        closing -= 1
    text = section(measure(runs))
    *body, ratio = text.split("\n")
    return "\n".join([*lines[:closing], *body, *lines[closing:], ratio]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--report", default=str(REPO / "bench/reports/ssr.md"))
    parser.add_argument(
        "--no-build-cache", action="store_true", help="grade as before the exercise had one"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/ssr.py needs root (the sandbox)", file=sys.stderr)
        return 2
    measured = measure(args.runs, build_cache=not args.no_build_cache)
    text = (
        f"# `grade ssr` against its floor\n\nMeasured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n" + section(measured) + "\n"
    )
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
