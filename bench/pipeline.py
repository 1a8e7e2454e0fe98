"""Benchmark: submit-to-verdict through the full production path, beside its floors.

    .venv/bin/python bench/pipeline.py [--runs 15] [--students 60] [--per-student 5]

Starts its own stack (a database `taller_bench` on the PostgreSQL of DATABASE_URL, a
Redis of its own, gunicorn, a Celery worker) and writes bench/reports/pipeline.md:

- side by side, in rounds: the rest-api suite against a bare `node` server run by a new
  interpreter (the cold floor) and by one that already has pytest and the SDK imported
  (the warm floor, as the worker starts its suites), and the same reference solution
  submitted over HTTP and followed on a WebSocket until its verdict;
- the CPU time a verdict costs on the full path (every process of the stack, the
  database's backends included) beside the floor's CPU per run, and by process group
  (web, worker, suite, node, Redis, PostgreSQL, the sandbox's launchers);
- a burst: S students each submitting P times (one in flight each, as the platform
  allows), with throughput beside the floor's (warm suites against bare node, as many at
  once as the worker runs), the longest wait of any student's first submission, and
  proof that no submission was lost or graded twice.

The report ends with lines a script can read (`ratio full/warm floor: X`, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from taller_grader.suite import ENTRY, PYTEST_ARGS  # noqa: E402
from tests.production.stack import Browser, RedisServer, Stack, base_env, free_port  # noqa: E402

SOLUTION = {"server.js": (REPO / "exercises/rest-api/solution/server.js").read_text()}
PASSWORD = "bench-password-1234"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# As docker-compose.yml runs the web service: a bounded pool of database connections
# (without it, every request and every WebSocket consumer connects to PostgreSQL anew).
WEB_ENV = {"DATABASE_POOL_MAX_SIZE": "10"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# The floor: what grading costs with no platform ------------------------------------------


@dataclass
class FloorRun:
    seconds: float  # node started → suite exited
    cpu: float  # node + the suite's interpreter (its start and imports included)
    preload_cpu: float  # of which the warm interpreter spent before the run (0 if cold)


def _cpu_of(pid: int) -> float:
    """utime + stime of a live process, in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rusage_wait(popen: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Reap a child; its exit status and CPU seconds (what it waited for included)."""
    _, status, usage = os.wait4(popen.pid, 0)
    popen.returncode = os.waitstatus_to_exitcode(status)
    return popen.returncode, usage.ru_utime + usage.ru_stime


def _wait_idle(pid: int, deadline: float = float("inf")) -> None:
    """Until a warm interpreter has imported what it preloads and blocks on its stdin."""
    last, steady = -1.0, 0
    while steady < 3 and time.monotonic() < deadline:
        time.sleep(0.03)
        now = _cpu_of(pid)
        steady = steady + 1 if now == last and now > 0 else 0
        last = now


class Floor:
    """The rest-api suite against a bare `node server.js`, in a directory of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "app").mkdir(parents=True)
        (root / "app/server.js").write_text(SOLUTION["server.js"])
        (root / "suite").mkdir()
        for test in (REPO / "graders/rest-api").glob("test_*.py"):
            (root / "suite" / test.name).write_text(test.read_text())
        self.port = free_port()
        self.info = root / "run.json"
        self.info.write_text(json.dumps({"env": {}, "programs": {"server": {"port": self.port}}}))
        # The platform's own arguments, the suite's directory instead of /suite.
        self.args = [*PYTEST_ARGS[:-1], str(root / "suite")]

    def _suite(self, args: list[str], *, warm: bool) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", ENTRY, *args],
            cwd=self.root / "suite",
            env={**os.environ, "TALLER_RUN_INFO": str(self.info),
                 "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"},
            stdin=subprocess.PIPE if warm else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def start_warm(self, *, nice: bool = False) -> subprocess.Popen[bytes]:
        """A suite interpreter with pytest and the SDK imported, waiting for its run."""
        popen = self._suite([], warm=True)
        if nice:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, popen.pid, 10)
        return popen

    def once(self, warm: subprocess.Popen[bytes] | None = None, *, settle: bool = True) -> FloorRun:
        """One run: cold (a new interpreter after node accepts), or on a warm one
        (`settle`: once it has finished its imports, as a warm suite on an idle worker)."""
        preload = 0.0
        if warm is not None:
            if settle:
                _wait_idle(warm.pid)
            preload = _cpu_of(warm.pid)
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, warm.pid, 0)
        env = {"PATH": os.environ["PATH"], "PORT": str(self.port),
               "NODE_PATH": str(REPO / "runtime/node_modules")}  # fmt: skip
        started = time.monotonic()
        server = subprocess.Popen(
            ["node", "server.js"], cwd=self.root / "app", env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.05).close()
                    break
                except OSError:
                    time.sleep(0.002)
            if warm is None:
                suite = self._suite(self.args, warm=False)
            else:
                suite = warm
                assert suite.stdin is not None
                suite.stdin.write(json.dumps(self.args).encode() + b"\n")
                suite.stdin.close()
            code, suite_cpu = _rusage_wait(suite)
            seconds = time.monotonic() - started
            if code != 0:
                raise RuntimeError(f"the floor's suite exited with {code}")
        finally:
            server.kill()
        _, node_cpu = _rusage_wait(server)
        return FloorRun(seconds, suite_cpu + node_cpu, preload)

    def warm_runs(self, runs: int) -> list[FloorRun]:
        results = []
        for _ in range(runs):
            warm = self.start_warm()
            results.append(self.once(warm))
        return results


def floor_throughput(root: Path, lanes: int, runs: int) -> tuple[float, int]:
    """Warm suites against bare node, `lanes` at once (as the worker's processes): runs
    per second over the batch. Each lane starts its next interpreter while the current
    run goes on, at a lower priority, as the worker's pool does (background CPU weight)."""
    floors = []
    for number in range(lanes):
        (root / f"lane{number}").mkdir(parents=True)
        floors.append(Floor(root / f"lane{number}"))
    done: list[FloorRun] = []
    errors: list[BaseException] = []
    per_lane = max(1, runs // lanes)

    def lane(floor: Floor) -> None:
        try:
            warm: subprocess.Popen[bytes] | None = floor.start_warm()
            for n in range(per_lane):
                assert warm is not None
                following = floor.start_warm(nice=True) if n < per_lane - 1 else None
                done.append(floor.once(warm, settle=False))
                warm = following
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=lane, args=(f,)) for f in floors]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    if errors:
        raise errors[0]
    return len(done) / seconds, len(done)


# The full path -----------------------------------------------------------------------------


def submit_and_follow(browser: Browser) -> tuple[float, dict[str, Any]]:
    """Submit → verdict: from the POST (the page it is sent from already loaded) until
    the verdict arrives on the WebSocket."""
    browser.request("GET", "/ejercicios/rest-api/")
    started = time.monotonic()
    status, _, body = browser.request(
        "POST", "/ejercicios/rest-api/",
        {f"file:{path}": text for path, text in SOLUTION.items()}, json_api=True,
    )  # fmt: skip
    assert status == 202, f"submit answered {status}: {body[:300]!r}"
    submitted = json.loads(body)
    with browser.websocket(submitted["ws_path"]) as ws:
        while True:
            event = json.loads(ws.recv(timeout=300))
            if event["type"] == "finished":
                return time.monotonic() - started, event["results"]
            if event["type"] == "snapshot" and event["results"] is not None:
                return time.monotonic() - started, event["results"]


# Who spent a verdict's CPU: every process of the stack, by what it is. Long-lived ones
# (web, worker, Redis, node while it serves, the suite while it runs) are read from /proc
# exactly; what lives a few ms (a launcher's sh, bwrap, prlimit) is mostly gone before a
# 20 ms sample sees it, so their share is the cgroup's total less everything named.
GROUPS = ("web", "worker", "suite", "node", "redis", "postgres")
HELPERS = "sandbox launchers (sh, env, bwrap, prlimit) and the unsampled"


def _classify(cmdline: bytes) -> str | None:
    """The group of a process of the stack by its command line; None: a launcher (or a
    process about to exec what it will be: looked at again on the next sample)."""
    argv = cmdline.split(b"\0")
    program = os.path.basename(argv[0])
    if program.startswith((b"bwrap", b"prlimit", b"sh", b"env")) or not program:
        return None
    if program == b"node":
        return "node"
    if ENTRY.encode() in argv:
        return "suite"
    if b"gunicorn" in cmdline or b"daphne" in cmdline:
        return "web"
    if b"celery" in cmdline:
        return "worker"
    if program.startswith(b"redis-server"):
        return "redis"
    return None


class CpuMeter:
    """CPU time of the stack's processes: web, worker, sandboxes, suites, programs and
    the bench's own Redis (a cpuacct cgroup the bench runs in, minus the bench itself),
    plus the PostgreSQL backends serving the bench's database (sampled from /proc);
    `groups()` splits it by process group."""

    def __init__(self, database_url: str) -> None:
        self.database = database_url.rsplit("/", 1)[1].encode()
        self.cgroup = Path(f"/sys/fs/cgroup/cpuacct/bench-pipeline-{os.getpid()}")
        self.cgroup.mkdir()
        # Everything the bench starts from now on inherits it; sandboxes' own cpuacct
        # cgroups are created below the worker's, so they count here too.
        (self.cgroup / "cgroup.procs").write_text(str(os.getpid()))
        self.backends: dict[int, float] = {}  # pid -> CPU at its last sample
        # (pid, start time) -> [group or None, CPU at its last sample]
        self.procs: dict[tuple[int, int], list[Any]] = {}
        self._lock = threading.Lock()
        self.postmaster = self._postmaster(database_url)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample_loop, daemon=True)
        self._sampler.start()

    @staticmethod
    def _postmaster(database_url: str) -> int | None:
        """The server's main process: the parent of a backend of ours (the machine may run
        other PostgreSQL servers, per-run services' among them)."""
        with psycopg.connect(database_url) as conn:
            [(backend,)] = conn.execute("SELECT pg_backend_pid()").fetchall()
        try:
            with open(f"/proc/{backend}/stat", "rb") as handle:
                return int(handle.read().rsplit(b")", 1)[1].split()[1])
        except OSError:
            return None  # a server on another host: its CPU is not counted

    def _sample_loop(self) -> None:
        # Backends live a task or a pooled connection's life; a 20 ms sample misses only
        # the CPU of a backend's last few ms (its goodbye), so this is a lower bound.
        while not self._stop.wait(0.02):
            self._sample()

    def _sample(self) -> None:
        with self._lock:
            self._sample_stack()
            self._sample_backends()

    def _sample_stack(self) -> None:
        me = os.getpid()
        for directory, _, names in os.walk(self.cgroup):
            if "cgroup.procs" not in names:
                continue
            with contextlib.suppress(OSError):
                pids = Path(directory, "cgroup.procs").read_text().split()
            for text in pids:
                pid = int(text)
                if pid == me:
                    continue
                try:
                    with open(f"/proc/{pid}/stat", "rb") as handle:
                        fields = handle.read().rsplit(b")", 1)[1].split()
                    key = (pid, int(fields[19]))
                    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
                    entry = self.procs.get(key)
                    if entry is None or entry[0] is None:
                        group = _classify(Path(f"/proc/{pid}/cmdline").read_bytes())
                        if entry is None:
                            entry = self.procs[key] = [group, 0.0]
                        entry[0] = group
                    entry[1] = cpu
                except (OSError, ValueError, IndexError):
                    continue

    def _sample_backends(self) -> None:
        if self.postmaster is None:
            return
        try:
            children = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children")
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError, ValueError):
                if pid not in self.backends:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b" " + self.database + b" " not in title:
                        continue
                self.backends[pid] = _cpu_of(pid)

    def settle_warm_suites(self, timeout: float = 10.0) -> None:
        """Until the worker's suite interpreters started ahead have done their imports (at
        background weight they wait for idle CPU, which the floors' runs took)."""
        deadline = time.monotonic() + timeout
        for procs in self.cgroup.rglob("cgroup.procs"):
            for pid in procs.read_text().split():
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if ENTRY.encode() in cmdline and not cmdline.startswith((b"bwrap", b"prlimit")):
                        _wait_idle(int(pid), deadline)

    def read(self) -> float:
        """Seconds of CPU so far (a difference of two reads is what matters)."""
        return self.groups()["total"]

    def groups(self) -> dict[str, float]:
        """Seconds of CPU so far: in all ("total") and per group (GROUPS, HELPERS)."""
        with self._lock:
            self._sample_stack()
            self._sample_backends()
            usage = int((self.cgroup / "cpuacct.usage").read_text()) / 1e9
            me = resource.getrusage(resource.RUSAGE_SELF)
            out = dict.fromkeys(GROUPS, 0.0)
            for group, cpu in self.procs.values():
                if group is not None:
                    out[group] += cpu
            out["postgres"] = sum(self.backends.values())
        out["total"] = usage - (me.ru_utime + me.ru_stime) + out["postgres"]
        out[HELPERS] = out["total"] - sum(out[g] for g in GROUPS)
        return out

    def close(self) -> None:
        self._stop.set()
        self._sampler.join()
        root = self.cgroup.parent / "cgroup.procs"
        root.write_text(str(os.getpid()))
        for child in sorted(self.cgroup.rglob("*"), reverse=True):
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            self.cgroup.rmdir()


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after}


def _plus(into: dict[str, float], more: dict[str, float]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0.0) + value


def prepare_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def django(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env={**os.environ, **env}, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--per-student", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--floor-burst", type=int, default=40, help="runs of the floor's batch")
    parser.add_argument("--database", default="taller_bench")
    parser.add_argument("--report", default=str(REPO / "bench/reports/pipeline.md"))
    parser.add_argument(
        "--ssr", action=argparse.BooleanOptionalAction, default=False,
        help="also `grade ssr` beside its floor (bench/ssr.py), after the stack is stopped",
    )  # fmt: skip
    parser.add_argument("--ssr-runs", type=int, default=5)
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]

    admin_url = os.environ.get("DATABASE_URL", "postgres://taller:taller@127.0.0.1:5432/taller")
    database_url = prepare_database(admin_url, args.database)
    work = Path(tempfile.mkdtemp(prefix="taller-bench-"))
    meter = CpuMeter(database_url)
    redis = RedisServer(work)
    env = base_env(database_url, redis.url, work / "static")
    env["TALLER_SUBMISSIONS_PER_MINUTE"] = "1000"
    stack = Stack(env=env, logs=work)
    try:
        redis.start()
        print("preparing the database and static files…", flush=True)
        django(env, "migrate", "--noinput", "-v0")
        django(env, "collectstatic", "--noinput", "-v0")
        django(env, "sync_exercises", "-v0")
        names = [f"estudiante{n:03d}" for n in range(max(args.students, 1))]
        django(
            env, "shell", "-c",
            "from taller.accounts.services import create_user\n"
            "from taller.accounts.roles import Role\n"
            f"for n in {names!r}: create_user(username=n, password={PASSWORD!r}, role=Role.STUDENT)",
        )  # fmt: skip
        stack.start_worker("bench", concurrency=args.concurrency)
        stack.start_web(extra_env=WEB_ENV)
        browser = Browser(stack.port)
        browser.sign_in(names[0], PASSWORD)
        submit_and_follow(browser)  # warm caches, pools, the per-run cluster
        floor = Floor(work / "floor")
        floor.once()  # the page cache
        floor.once(floor.start_warm())
        print(f"side by side: {args.runs} rounds of cold floor, warm floor, full path…", flush=True)
        cold: list[FloorRun] = []
        warm: list[FloorRun] = []
        full: list[float] = []
        full_groups: dict[str, float] = {}
        for _ in range(args.runs):
            cold.append(floor.once())
            warm.append(floor.once(floor.start_warm()))
            # Let the worker's pool finish refilling from the previous run, as the warm
            # floor's interpreter had finished its imports.
            time.sleep(0.3)
            meter.settle_warm_suites()
            before = meter.groups()
            seconds, results = submit_and_follow(browser)
            assert results["status"] == "passed", results["output"]
            full.append(seconds)
            # The run's teardown and the refill of the pool (the next run's shell and
            # suite interpreter, made during this run): its cost too.
            time.sleep(0.3)
            meter.settle_warm_suites()
            _plus(full_groups, _minus(meter.groups(), before))

        # Where the full path's time goes, from the phase timestamps each run records.
        with psycopg.connect(database_url) as conn:
            phases = conn.execute(
                "SELECT extract(epoch FROM queued_at - submitted_at),"
                " extract(epoch FROM started_at - queued_at),"
                " extract(epoch FROM finished_at - started_at)"
                " FROM submissions_submission ORDER BY id DESC LIMIT %s",
                (args.runs,),
            ).fetchall()
        breakdown = {
            name: statistics.median(float(row[i]) for row in phases)
            for i, name in enumerate(
                ("submitted → queued", "queued → started", "started → finished")
            )
        }

        print(
            f"floor's batch: {args.floor_burst} warm runs, {args.concurrency} at once…", flush=True
        )
        floor_rate_before, floor_count = floor_throughput(
            work / "batch-before", args.concurrency, args.floor_burst
        )
        print(f"burst: {args.students} students × {args.per_student} submissions…", flush=True)
        first_waits: list[float] = []
        all_waits: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()

        # Signed in before the clock starts, as the page is loaded before a submission:
        # the burst measures grading, not Argon2 (~0.1 s of the web's CPU a sign-in).
        browsers: dict[str, Browser] = {}

        def sign_in(name: str) -> None:
            try:
                me = Browser(stack.port)
                me.sign_in(name, PASSWORD)
                browsers[name] = me
            except Exception as exc:  # reported, not hidden
                with lock:
                    failures.append(f"{name}: {exc!r}")

        signing = [threading.Thread(target=sign_in, args=(n,)) for n in names[: args.students]]
        for thread in signing:
            thread.start()
        for thread in signing:
            thread.join()

        def student(name: str) -> None:
            try:
                me = browsers[name]
                for attempt in range(args.per_student):
                    seconds, results = submit_and_follow(me)
                    with lock:
                        all_waits.append(seconds)
                        if attempt == 0:
                            first_waits.append(seconds)
                        if results["status"] != "passed":
                            failures.append(f"{name}: {results['status']}")
            except Exception as exc:  # reported, not hidden
                with lock:
                    failures.append(f"{name}: {exc!r}")

        threads = [threading.Thread(target=student, args=(n,)) for n in names[: args.students]]
        burst_before = meter.groups()
        burst_started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        burst_seconds = time.monotonic() - burst_started
        burst_groups = _minus(meter.groups(), burst_before)
        print("floor's batch again…", flush=True)
        floor_rate_after, _ = floor_throughput(
            work / "batch-after", args.concurrency, args.floor_burst
        )

        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT status, count(*), sum(takeovers), sum(retries) FROM submissions_submission "
                "GROUP BY status"
            ).fetchall()
            [(tests_per,)] = conn.execute(
                "SELECT count(*) FROM (SELECT s.id FROM submissions_submission s LEFT JOIN "
                "submissions_testresult t ON t.submission_id = s.id GROUP BY s.id "
                "HAVING count(t.id) <> 21) AS odd"
            ).fetchall()
        log = (work / "bench.log").read_text(errors="replace")
        starts = log.count("grading started")
    finally:
        stack.stop_all()
        redis.stop()
        meter.close()

    total = sum(count for _, count, _, _ in rows)
    expected = 1 + args.runs + args.students * args.per_student
    burst_runs = args.students * args.per_student
    burst_rate = burst_runs / max(burst_seconds, 1e-9)
    floor_rate = (floor_rate_before + floor_rate_after) / 2
    full_median = statistics.median(full)
    cold_s = [r.seconds for r in cold]
    warm_s = [r.seconds for r in warm]
    warm_median = statistics.median(warm_s)
    warm_cpu = statistics.median(r.cpu for r in warm)
    warm_preload = statistics.median(r.preload_cpu for r in warm)
    cold_cpu = statistics.median(r.cpu for r in cold)
    full_cpu = full_groups["total"]
    burst_cpu = burst_groups["total"]
    by_group = "".join(
        f"| {name} | {full_groups[name] / args.runs * 1000:.0f} ms "
        f"| {burst_groups[name] / burst_runs * 1000:.0f} ms |\n"
        for name in (*GROUPS, HELPERS, "total")
    )

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {statistics.median(values):.3f} s | {percentile(values, 0.95):.3f} s "
            f"| {statistics.median(values) / warm_median:.2f}× | {len(values)} |\n"
        )

    report = f"""# Pipeline benchmark

Measured {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} on this machine ({os.cpu_count()} cores,
load average {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end), `bench/pipeline.py --runs {args.runs}
--students {args.students} --per-student {args.per_student} --concurrency {args.concurrency}
--floor-burst {args.floor_burst}`: PostgreSQL, a Redis of its own, gunicorn (production
settings, a pool of at most {WEB_ENV["DATABASE_POOL_MAX_SIZE"]} database connections), one Celery worker with
{args.concurrency} processes, the bwrap sandbox.

## Submit to verdict, `rest-api` reference solution (21 tests), side by side

In rounds: a cold floor, a warm floor, a submission through the full path, so that the
machine's drift touches all three alike. Both floors time from `node server.js`'s start
until the suite's interpreter exits, the suite starting once node accepts, with the
platform's pytest arguments and interpreter entry (`taller_grader.sdk.entry`):

- cold floor: a new interpreter that imports pytest and the SDK after node accepts;
- warm floor: an interpreter started beforehand with pytest and the SDK imported (as the
  worker's is), waiting for its arguments;
- full path: from the HTTP POST (the page already loaded) through gunicorn, Celery,
  the sandbox and the suite until the verdict arrives on the WebSocket.

| path | median | p95 | median / warm floor | runs |
|---|---|---|---|---|
{row("cold floor", cold_s)}{row("warm floor", warm_s)}{row("full path", full)}
Full path / warm floor: **{full_median / warm_median:.2f}×** at the median (target ≤ 1.5×),
**{percentile(full, 0.95) / percentile(warm_s, 0.95):.2f}×** at p95 (target ≤ 2×).

Where the full path's median goes (phase timestamps recorded by the platform; the rest is
the HTTP submit before the row exists and the push of the verdict to the WebSocket):

| phase | median |
|---|---|
{"".join(f"| {name} | {max(seconds, 0.0) * 1000:.0f} ms |{chr(10)}" for name, seconds in breakdown.items())}| the rest (HTTP request, WebSocket push) | {(full_median - sum(breakdown.values())) * 1000:.0f} ms |

## CPU time per verdict

| | CPU per run |
|---|---|
| cold floor: node + the suite's interpreter | {cold_cpu * 1000:.0f} ms |
| warm floor: node + the suite's interpreter, its start and imports included | {warm_cpu * 1000:.0f} ms (of which {warm_preload * 1000:.0f} ms before the run) |
| full path, one at a time: web, worker, sandbox, suite, student program, PostgreSQL, Redis | {full_cpu / args.runs * 1000:.0f} ms |
| full path in the burst (the same processes) | {burst_cpu / burst_runs * 1000:.0f} ms |

The full path's CPU is that of a cpuacct cgroup holding the bench's Redis, gunicorn and the
Celery worker with everything they start (the sandboxes' and suites' cgroups are created
below it), less the bench's own (its clients), plus the PostgreSQL backends serving the
bench's database, sampled from /proc every 20 ms (the shared server's background
processes are left out): a lower bound by a few ms. One at a time, the window runs from
the POST until 0.3 s after the verdict and the next run's suite interpreter, started
ahead, has done its imports (the run's teardown and the refill of the worker's pool of
shells are each run's cost). Before each submission one at a time, the bench waits for
that interpreter to be ready, as the warm floor's is (the floors' runs in between take
the idle CPU it would otherwise use); in the burst nobody waits.

By process group (per verdict; the worker is Celery's processes, the suite its
interpreter, started ahead, and node the student's server; the launchers live a few ms
each and are the total less every other group, with the last ≤ 20 ms of the others):

| group | one at a time | in the burst |
|---|---|---|
{by_group}
## Burst: {args.students} students × {args.per_student} submissions (one in flight each)

Each student signed in before the clock starts, then loads the exercise page and submits,
{args.per_student} times, each after the previous verdict.

| | |
|---|---|
| wall time | {burst_seconds:.1f} s |
| throughput | {burst_rate:.2f} verdicts/s |
| the floor's throughput: warm suites against bare node, {args.concurrency} at once, {floor_count} runs, before / after the burst | {floor_rate_before:.2f} / {floor_rate_after:.2f} runs/s |
| burst / floor (the floor's two batches averaged) | **{burst_rate / floor_rate:.2f}×** (target ≥ 0.7×) |
| longest wait of a student's first submission | {max(first_waits) if first_waits else float("nan"):.1f} s |
| submit-to-verdict under load: median / p95 / max | {statistics.median(all_waits or [float("nan")]):.1f} / {percentile(all_waits or [float("nan")], 0.95):.1f} / {max(all_waits, default=float("nan")):.1f} s |
| submissions in the database / expected | {total} / {expected} |
| by status | {", ".join(f"{s}: {c}" for s, c, _, _ in rows)} |
| runs started (worker log) / submissions | {starts} / {total} |
| takeovers, retries | {sum(t or 0 for _, _, t, _ in rows)}, {sum(r or 0 for _, _, _, r in rows)} |
| submissions without exactly 21 test results | {tests_per} |
| client-side failures | {len(failures)}{": " + "; ".join(failures[:5]) if failures else ""} |

ratio full/warm floor: {full_median / warm_median:.2f}
ratio full/warm floor p95: {percentile(full, 0.95) / percentile(warm_s, 0.95):.2f}
throughput burst/floor: {burst_rate / floor_rate:.2f}
"""
    if args.ssr:
        from bench import ssr

        report = ssr.into_report(report, args.ssr_runs)
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
