"""Benchmark: scale-out of the production stack.

    .venv/bin/python bench/scale.py [--runs 16] [--clients 1000] [--wrk-seconds 20]

Starts its own stack (a database `taller_scale` on the PostgreSQL of DATABASE_URL, a
Redis of its own, the site under gunicorn with the production settings, Celery workers)
and writes bench/reports/scale.md:

- throughput: the same batch of submissions (over HTTP, distinct students) graded by one
  worker process, then by two worker processes (two hosts in production), in one run;
- the site under load with wrk: 50 signed-in students loading an exercise page with
  think time, the same with one request in ten a submission, and 50 connections with no
  think time (saturation); latency percentiles;
- WebSocket fan-out: N students, each signed in and subscribed to their own submission
  (as during a class: everyone watches their own run), receive a result event pushed to
  their submission's group through the Redis channel layer, as a worker pushes it;
  latency from the push to receipt, for a burst (all at once) and at a steady rate;
- the web server: the page and the fan-out again under gunicorn and under the Daphne
  processes it replaced (the launcher before issue 21), in turns, in the same run.

Students are made directly in the database with sessions (no password hashing: sign-in
is not what is measured here). Nothing here asserts timings; the report states them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psycopg  # noqa: E402
from pipeline import WEB_ENV, django, percentile, prepare_database  # noqa: E402

from tests.production.stack import Browser, RedisServer, Stack, base_env, wait_until  # noqa: E402

EXERCISE = REPO / "exercises/rest-api"
SOLUTION = {"server.js": (EXERCISE / "solution/server.js").read_text()}
PAGE = "/ejercicios/rest-api/"

# Run inside `manage.py shell` with the bench's settings: N students, a session each
# (what a browser holds after signing in) and one queued submission each.
SETUP = """
import json, sys
from datetime import timedelta
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.accounts.services import ensure_role_groups
from taller.cohorts.models import Cohort, Enrollment
from taller.courses.models import Exercise
from taller.submissions.models import Submission

count, out = int(sys.argv[1]), sys.argv[2]
group = ensure_role_groups()[Role.STUDENT]
unusable = make_password(None)
users = User.objects.bulk_create(
    User(username=f"fan{n:04d}", password=unusable) for n in range(count)
)
group.user_set.add(*users)
exercise = Exercise.objects.get(slug="rest-api")
# As in a class: every student in the cohort, their attempts marked with it.
today = timezone.localdate()
cohort = Cohort.objects.create(name="Bench", course=exercise.section.course,
                               starts_on=today - timedelta(days=7), ends_on=today + timedelta(days=60))
Enrollment.objects.bulk_create(Enrollment(cohort=cohort, student=u) for u in users)
files = {"server.js": "console.log('hola')\\n"}
subs = Submission.objects.bulk_create(
    Submission(student=u, exercise=exercise, cohort=cohort, grader_version=exercise.current_version,
               files=files, attempt=1, queued_at=timezone.now())
    for u in users
)
rows = []
for user, sub in zip(users, subs):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "taller.accounts.backends.RolesModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    rows.append({"user": user.username, "session": session.session_key, "submission": sub.pk})
open(out, "w").write(json.dumps(rows))
"""

WRK_SCRIPT = """
-- One signed-in student per request, in turn; think time between requests when asked.
local sessions, n, think_min, think_max, submit_every = {}, 0, 0, 0, 0
local body, csrf = "", "benchcsrftoken0123456789abcdefgh"
-- Each wrk thread has a Lua state of its own, seeded alike unless told apart: its students
-- would then think in lockstep with the other thread's and arrive in pairs.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
  for line in io.lines(args[1]) do sessions[#sessions + 1] = line end
  think_min, think_max = tonumber(args[2]), tonumber(args[3])
  submit_every = tonumber(args[4])
  if submit_every > 0 then
    local f = io.open(args[5]); body = f:read("*a"); f:close()
  end
  n = math.random(#sessions)
end
function request()
  n = n + 1
  local cookie = "sessionid=" .. sessions[(n %% #sessions) + 1] .. "; csrftoken=" .. csrf
  if submit_every > 0 and n %% submit_every == 0 then
    return wrk.format("POST", "%(page)s", {
      ["Cookie"] = cookie, ["X-CSRFToken"] = csrf, ["Accept"] = "application/json",
      ["Origin"] = "http://127.0.0.1:%(port)s", ["Referer"] = "http://127.0.0.1:%(port)s%(page)s",
      ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
  end
  return wrk.format("GET", "%(page)s", {["Cookie"] = cookie})
end
function delay()
  if think_max <= 0 then return 0 end
  return math.random(think_min, think_max)
end
local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local out = io.open("%(result)s", "w")
  out:write(string.format(
    '{"requests": %%d, "seconds": %%f, "errors": %%d, "p50": %%d, "p90": %%d, "p99": %%d, "max": %%d, "mean": %%f}',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  out:close()
end
"""


def prepare_site(env: dict[str, str], work: Path, students: int) -> list[dict[str, Any]]:
    """The database migrated, the static files collected, the course synced, and this many
    students made (SETUP): each one's username, session key and queued submission."""
    django(env, "migrate", "--noinput", "-v0")
    django(env, "collectstatic", "--noinput", "-v0")
    django(env, "sync_exercises", "-v0")
    (work / "setup.py").write_text(SETUP)
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         f"import sys; sys.argv = ['', '{students}', '{work / 'students.json'}']; "
         f"exec(open('{work / 'setup.py'}').read())"],
        cwd=REPO, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    made: list[dict[str, Any]] = json.loads((work / "students.json").read_text())
    return made


def raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def cpu_steadiness(rounds: int = 400) -> tuple[float, float]:
    """(p50, p99) ms of one fixed piece of pure-Python work, repeated on an otherwise idle
    machine: how much this machine's CPU speed varies by itself, whatever the site does."""

    def work() -> int:
        total = 0
        for n in range(100_000):
            total += n * n
        return total

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, percentile(times, 0.99) * 1000


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) over all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def db_rows(database_url: str, sql: str, *params: Any) -> list[Any]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


# --- Throughput: one worker process vs two ---


def throughput(
    stack: Stack, database_url: str, students: list[dict[str, Any]], workers: int
) -> dict[str, Any]:
    """The batch is queued first, then the workers start: the rate is that of grading,
    from the first run's start to the last verdict (database timestamps)."""
    ids = []
    for student in students:
        browser = Browser(stack.port)
        browser.cookies["sessionid"] = student["session"]
        ids.append(browser.submit("rest-api", SOLUTION)["id"])
    names = [f"w{n}" for n in range(1, workers + 1)]
    for n, name in enumerate(names):
        stack.start_worker(name, host=f"host-{chr(ord('a') + n)}")
    busy_before, total_before = cpu_jiffies()
    wait_until(
        lambda: (
            db_rows(
                database_url,
                "SELECT count(*) FROM submissions_submission WHERE id = ANY(%s) AND finished_at "
                "IS NOT NULL",
                ids,
            )[0][0]
            == len(ids)
        ),
        600,
        "the batch to be graded",
        interval=0.1,
    )
    [(wall,)] = db_rows(
        database_url,
        "SELECT extract(epoch FROM max(finished_at) - min(started_at)) "
        "FROM submissions_submission WHERE id = ANY(%s)",
        ids,
    )
    wall = float(wall)
    busy_after, total_after = cpu_jiffies()
    cpu_busy = (busy_after - busy_before) / max(1, total_after - total_before)
    rows = db_rows(
        database_url,
        "SELECT status, worker, takeovers, retries FROM submissions_submission WHERE id = ANY(%s)",
        ids,
    )
    starts = sum(
        (stack.logs / f"{name}.log").read_text(errors="replace").count("grading started")
        for name in names
    )
    for name in names:
        stack.kill(name)
        (stack.logs / f"{name}.log").rename(stack.logs / f"{name}-{workers}.log")
    by_worker: dict[str, int] = {}
    for _, worker, _, _ in rows:
        by_worker[worker] = by_worker.get(worker, 0) + 1
    return {
        "workers": workers,
        "runs": len(ids),
        "wall": wall,
        "cpu_busy": cpu_busy,
        "rate": len(ids) / wall,
        "passed": sum(status == "passed" for status, *_ in rows),
        "starts": starts,
        "by_worker": by_worker,
        "takeovers": sum(t for _, _, t, _ in rows),
        "retries": sum(r for *_, r in rows),
    }


# --- The site under load: wrk ---


def process_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time these processes have used, from /proc."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(
    stack: Stack,
    sessions: list[str],
    work: Path,
    seconds: int,
    think_ms: tuple[int, int],
    submit_every: int,
    connections: int = 50,
) -> dict[str, Any]:
    (work / "sessions.txt").write_text("\n".join(sessions) + "\n")
    from urllib.parse import urlencode

    (work / "body.txt").write_text(urlencode({"file:server.js": SOLUTION["server.js"]}))
    result = work / "wrk-result.json"
    result.unlink(missing_ok=True)
    script = work / "bench.lua"
    port = stack.port
    script.write_text(WRK_SCRIPT % {"page": PAGE, "port": port, "result": result})
    web = stack.web_pids()
    cpu_before = {pid: process_cpu_seconds([pid]) for pid in web}
    subprocess.run(
        [shutil.which("wrk") or "wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}", "--",
         str(work / "sessions.txt"), str(think_ms[0]), str(think_ms[1]), str(submit_every),
         str(work / "body.txt")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    measured: dict[str, Any] = json.loads(result.read_text())
    measured["rate"] = measured["requests"] / measured["seconds"]
    # The web processes' CPU time per request: steadier than latency on shared cores, and
    # what the latency grows from once requests queue.
    used = [
        process_cpu_seconds([pid]) - cpu_before[pid] for pid in web if Path(f"/proc/{pid}").exists()
    ]
    measured["cpu"] = sum(used) / max(1, measured["requests"])
    # How evenly the processes shared the work: the busiest one's part of the web CPU
    # (1/N is even).
    measured["busiest"] = max(used) / sum(used) if sum(used) else 0.0
    return measured


THINK_MS = (1000, 3000)


def wrk_scenarios(
    stack: Stack, sessions: list[str], work: Path, seconds: int
) -> list[dict[str, Any]]:
    return [
        wrk(stack, sessions, work, seconds, (0, 0), 0, connections=1),
        wrk(stack, sessions, work, seconds, THINK_MS, 0),
        wrk(stack, sessions, work, seconds, THINK_MS, 10),
        wrk(stack, sessions, work, seconds, (0, 0), 0),
    ]


# --- WebSocket fan-out ---


def publisher(redis_url: str, groups: list[int], payload: dict[str, Any], plan: str, rate: float):  # type: ignore[no-untyped-def]
    """In a process of its own, as a worker would: group_send through the channel layer."""
    from channels_redis.core import RedisChannelLayer

    from taller.settings.base import redis_channel_layer

    async def run() -> None:
        # The workers' configuration: the sender's capacity is the one group_send checks.
        layer = RedisChannelLayer(**redis_channel_layer(redis_url)["CONFIG"])
        gap = 0.0 if plan == "burst" else 1.0 / rate
        started = time.monotonic()
        for n, submission_id in enumerate(groups):
            if gap:
                await asyncio.sleep(max(0.0, started + n * gap - time.monotonic()))
            message = {**payload, "sent_at": time.time(), "round": plan}
            await layer.group_send(
                f"submission-{submission_id}", {"type": "submission.event", "payload": message}
            )
        await layer.close_pools()

    asyncio.run(run())


async def fan_out(
    port: int,
    redis_url: str,
    students: list[dict[str, Any]],
    payload: dict[str, Any],
    rounds: list[tuple[str, float]],
) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    latencies: dict[str, list[float]] = {plan: [] for plan, _ in rounds}
    gate = asyncio.Semaphore(50)
    failures: list[str] = []

    async def client(student: dict[str, Any]) -> Any:
        async with gate:
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws/submissions/{student['submission']}/",
                additional_headers={"Cookie": f"sessionid={student['session']}"},
                origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
                open_timeout=60,
                max_size=2**22,
            )
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot", snapshot
        return ws

    async def listen(ws: Any, expected: int) -> None:
        for _ in range(expected):
            event = json.loads(await asyncio.wait_for(ws.recv(), 120))
            latencies[event["round"]].append(time.time() - event["sent_at"])

    started = time.monotonic()
    sockets = await asyncio.gather(*(client(s) for s in students), return_exceptions=True)
    connect_seconds = time.monotonic() - started
    alive = [ws for ws in sockets if not isinstance(ws, BaseException)]
    failures += [repr(ws) for ws in sockets if isinstance(ws, BaseException)][:5]
    listeners = [asyncio.create_task(listen(ws, len(rounds))) for ws in alive]
    ids = [
        s["submission"]
        for s, ws in zip(students, sockets, strict=True)
        if not isinstance(ws, BaseException)
    ]
    for plan, rate in rounds:
        process = multiprocessing.get_context("spawn").Process(
            target=publisher, args=(redis_url, ids, payload, plan, rate)
        )
        process.start()
        while process.is_alive():
            await asyncio.sleep(0.05)
        if process.exitcode:
            raise RuntimeError(f"publisher failed ({process.exitcode})")
        deadline = time.monotonic() + 30
        while len(latencies[plan]) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    done = await asyncio.gather(*listeners, return_exceptions=True)
    failures += [repr(d) for d in done if isinstance(d, BaseException)][:5]
    for ws in alive:
        await ws.close()
    return {
        "clients": len(students),
        "connected": len(alive),
        "connect_seconds": connect_seconds,
        "latencies": latencies,
        "failures": failures,
    }


# --- The web server: gunicorn beside the launcher it replaced ---

# (label, start_web's server, extra environment); the first is the way before gunicorn.
SERVERS = [
    ("Daphne per core, a socket each (the launcher before gunicorn)", "daphne", {}),
    ("gunicorn + uvicorn, a socket each, held by gunicorn's parent (the default)", "gunicorn", {}),
    ("gunicorn + uvicorn, one socket shared (`WEB_REUSE_PORT=0`)", "gunicorn", {"WEB_REUSE_PORT": "0"}),
    # serving.py's handler against Django's own, under the server it now runs in.
    ("gunicorn + uvicorn, Django's own handler (`TALLER_HTTP_CONCURRENCY=0`)", "gunicorn", {"TALLER_HTTP_CONCURRENCY": "0"}),
]  # fmt: skip
# Restarts under load: (label, extra environment, gunicorn's options).
RESTARTS = [
    ("a socket each, held by gunicorn's parent (the default)", {}, ()),
    ("a socket each, gunicorn's own `--reuse-port` (closes with its process)", {"WEB_REUSE_PORT": "0"}, ("--reuse-port",)),
    ("one socket shared (`WEB_REUSE_PORT=0`)", {"WEB_REUSE_PORT": "0"}, ()),
]  # fmt: skip
RESTART_EVERY = 200


def restarts_under_load(stack: Stack, seconds: int) -> list[dict[str, Any]]:
    """Two gunicorn processes each replaced after RESTART_EVERY requests, under 50
    connections with no think time on /healthz: the requests that failed meanwhile."""
    measured = []
    for label, extra, options in RESTARTS:
        print(f"restarts: {label}…", flush=True)
        stack.start_web(
            processes=2,
            extra_env={**WEB_ENV, **extra, "WEB_MAX_REQUESTS": str(RESTART_EVERY)},
            options=options,
        )
        log = stack.logs / "web.log"
        boots = log.read_text(errors="replace").count("Booting worker")
        out = subprocess.run(
            [shutil.which("wrk") or "wrk", "-t", "2", "-c", "50", "-d", f"{seconds}s",
             "--timeout", "10s", f"http://127.0.0.1:{stack.port}/healthz"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        restarted = log.read_text(errors="replace").count("Booting worker") - boots
        stop_web(stack)
        errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
        for line in out.splitlines():
            if line.strip().startswith("Socket errors:"):
                for part in line.split(":", 1)[1].split(","):
                    kind, count = part.split()
                    errors[kind] = int(count)
        [requests] = [int(line.split()[0]) for line in out.splitlines() if "requests in" in line]
        non_2xx = sum(int(line.split(":")[1]) for line in out.splitlines() if "Non-2xx" in line)
        measured.append(
            {
                "label": label,
                "requests": requests,
                "restarts": restarted,
                "errors": errors,
                "non_2xx": non_2xx,
            }
        )
    return measured


def stop_web(stack: Stack) -> None:
    for name in [n for n in stack.processes if n.startswith("web")]:
        stack.kill(name)


def servers_side_by_side(
    stack: Stack,
    redis_url: str,
    students: list[dict[str, Any]],
    work: Path,
    payload: dict[str, Any],
    args: argparse.Namespace,
) -> list[list[dict[str, Any]]]:
    """All the servers up at once, on ports of their own, two web processes each as on a
    2-core host, then measured in turn, `args.server_rounds` times (the order turned each
    round, so that the machine's drift lands on all alike): 50 students loading the page
    with think time, then the WebSocket fan-out."""
    sessions = [s["session"] for s in students[:50]]
    stacks = []
    for n, (_label, server, extra) in enumerate(SERVERS):
        logs = work / f"server-{n}"
        logs.mkdir()
        served = Stack(env=stack.env, logs=logs)
        served.start_web(processes=2, extra_env={**WEB_ENV, **extra}, server=server)
        wrk(served, sessions, work, 5, (0, 0), 0, connections=1)  # warm, as a served site is
        stacks.append(served)
    measured: list[list[dict[str, Any]]] = [[] for _ in SERVERS]
    try:
        for round_ in range(args.server_rounds):
            order = list(range(len(SERVERS)))
            order = order[round_ % len(order) :] + order[: round_ % len(order)]
            for n in order:
                print(f"round {round_ + 1}: {SERVERS[n][0]}…", flush=True)
                load_before = os.getloadavg()[0]
                page = wrk(stacks[n], sessions, work, args.wrk_seconds, THINK_MS, 0)
                fan = asyncio.run(
                    fan_out(
                        stacks[n].port,
                        redis_url,
                        students[: args.clients],
                        payload,
                        [("burst", 0.0), ("steady", args.rate)],
                    )
                )
                measured[n].append({"page": page, "fan": fan, "load": load_before})
    finally:
        for served in stacks:
            served.stop_all()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=16, help="submissions per throughput batch")
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients")
    parser.add_argument("--wrk-seconds", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0, help="steady fan-out events/s")
    parser.add_argument(
        "--server-rounds",
        type=int,
        default=2,
        help="rounds of gunicorn beside the launcher before it (0: not measured)",
    )
    parser.add_argument(
        "--database", default="taller_scale", help="made anew on DATABASE_URL's server"
    )
    parser.add_argument("--report", default=str(REPO / "bench/reports/scale.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    nofile = raise_nofile(args.clients * 3 + 1024)  # clients, server ends, Redis, slack

    admin_url = os.environ.get("DATABASE_URL", "postgres://taller:taller@127.0.0.1:5432/taller")
    database_url = prepare_database(admin_url, args.database)
    work = Path(tempfile.mkdtemp(prefix="taller-scale-"))
    redis = RedisServer(work)
    redis.start()
    env = base_env(database_url, redis.url, work / "static")
    # Distinct students submit here, many times each in the load test: no per-student
    # throttle, which is not what is measured.
    env.update(TALLER_SUBMISSIONS_PER_MINUTE="100000", TALLER_MAX_IN_FLIGHT="100000")
    print("preparing the database, static files and students…", flush=True)
    students = prepare_site(env, work, max(args.clients, 2 * args.runs + 50))
    load_before = os.getloadavg()
    steady = cpu_steadiness()

    stack = Stack(env=env, logs=work)
    try:
        stack.start_web(extra_env=WEB_ENV)
        print("throughput: one worker process, then two…", flush=True)
        one = throughput(stack, database_url, students[: args.runs], workers=1)
        two = throughput(stack, database_url, students[args.runs : 2 * args.runs], workers=2)
        [(results,)] = db_rows(
            database_url,
            "SELECT results FROM submissions_submission WHERE status = 'passed' LIMIT 1",
        )

        print("wrk: 50 students with think time, then a submit mix, then saturation…", flush=True)
        sessions = [s["session"] for s in students[:50]]
        loads: dict[int, list[dict[str, Any]]] = {}
        loads[1] = wrk_scenarios(stack, sessions, work, args.wrk_seconds)

        print(f"fan-out: {args.clients} WebSocket clients…", flush=True)
        fan = asyncio.run(
            fan_out(
                stack.port,
                redis.url,
                students[: args.clients],
                {"type": "finished", "results": results},
                [("burst", 0.0), ("steady", args.rate)],
            )
        )
        print("wrk again, with two web processes…", flush=True)
        stop_web(stack)
        (work / "web.log").rename(work / "web-1.log")
        stack.start_web(processes=2, extra_env=WEB_ENV)
        loads[2] = wrk_scenarios(stack, sessions, work, args.wrk_seconds)
        print("wrk once more: one web process, a thread per request…", flush=True)
        stop_web(stack)
        (work / "web.log").rename(work / "web-2.log")
        stack.start_web(processes=1, extra_env={**WEB_ENV, "TALLER_HTTP_CONCURRENCY": "0"})
        threaded = wrk(stack, sessions, work, args.wrk_seconds, THINK_MS, 0)
        stop_web(stack)
        print("the web server: gunicorn beside the launcher before it, in turns…", flush=True)
        servers = servers_side_by_side(
            stack, redis.url, students, work, {"type": "finished", "results": results}, args
        )
        restarts = restarts_under_load(stack, args.wrk_seconds) if args.server_rounds else []
    finally:
        stack.stop_all()
        redis.stop()
    load_after = os.getloadavg()
    web_log = "".join(p.read_text(errors="replace") for p in sorted(work.glob("**/web*.log")))

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f}"

    def us(micro: float) -> str:
        return f"{micro / 1000:.1f}"

    def wrk_row(label: str, m: dict[str, Any]) -> str:
        return (
            f"| {label} | {m['rate']:.0f} | {us(m['p50'])} | {us(m['p90'])} | {us(m['p99'])} "
            f"| {us(m['max'])} | {ms(m['cpu'])} | {m['errors']} |"
        )

    def fan_row(label: str, values: list[float]) -> str:
        if not values:
            return f"| {label} | 0 | – | – | – | – |"
        return (
            f"| {label} | {len(values)} | {ms(statistics.median(values))} | "
            f"{ms(percentile(values, 0.90))} | {ms(percentile(values, 0.99))} | {ms(max(values))} |"
        )

    def p99_of(values: list[float]) -> float:
        return percentile(values, 0.99) if values else float("nan")

    server_rows = []
    server_summary = []
    for (label, _server, _extra), rounds in zip(SERVERS, servers, strict=True):
        for number, m in enumerate(rounds, start=1):
            page, pushed = m["page"], m["fan"]
            server_rows.append(
                f"| {label} | {number} | {m['load']:.1f} | {page['rate']:.0f} | {us(page['p50'])} "
                f"| {us(page['p99'])} | {ms(page['cpu'])} | {page['busiest']:.0%} | {page['errors']} "
                f"| {pushed['connected']} / {pushed['clients']} "
                f"| {ms(p99_of(pushed['latencies']['burst']))} | {ms(p99_of(pushed['latencies']['steady']))} |"
            )
        if rounds:
            server_summary.append(
                f"| {label} "
                f"| **{statistics.median(m['page']['p99'] for m in rounds) / 1000:.1f}** "
                f"| {statistics.median(m['page']['cpu'] for m in rounds) * 1000:.1f} "
                f"| {statistics.median(m['page']['busiest'] for m in rounds):.0%} "
                f"| **{ms(statistics.median(p99_of(m['fan']['latencies']['steady']) for m in rounds))}** "
                f"| {ms(statistics.median(p99_of(m['fan']['latencies']['burst']) for m in rounds))} |"
            )
    server_rows_text = "\n".join(server_rows)
    restart_rows_text = "\n".join(
        f"| {m['label']} | {m['requests']} | {m['restarts']} | {m['errors']['connect']} "
        f"| {m['errors']['read']} | {m['errors']['write']} | {m['errors']['timeout']} | {m['non_2xx']} |"
        for m in restarts
    )
    server_summary_text = "\n".join(server_summary)

    report = f"""# Scale benchmark

Measured {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} on this machine ({os.cpu_count()} cores,
shared: load average {load_before[0]:.1f} before, {load_after[0]:.1f} after), `bench/scale.py
--runs {args.runs} --clients {args.clients} --wrk-seconds {args.wrk_seconds} --rate {args.rate:g}`:
PostgreSQL, a Redis of its own, the site under gunicorn with the production settings
(taller/web/gunicorn_conf.py: uvicorn workers; JSON logs, one JSON access line per request
and none of the server's own, a pool of at most {WEB_ENV["DATABASE_POOL_MAX_SIZE"]} database connections, query parameters bound by PostgreSQL), Celery workers as separate processes, the bwrap
sandbox. Every figure is from this one run; none is asserted by a test.

This machine's own steadiness, measured first: one fixed piece of pure-Python work took
p50 {steady[0]:.1f} ms and p99 {steady[1]:.1f} ms over 400 repetitions, nothing else running.
A page's tail latency here cannot be better than that ratio allows.

## Throughput: one worker process vs two

A batch of {args.runs} submissions of the `rest-api` reference solution (21 tests) by
{args.runs} students over HTTP, queued before the workers start, then graded by Celery
worker processes with concurrency 1 (named as on separate hosts) sharing the `grading`
queue. Wall time: from the first run's start to the last verdict.

| worker processes | verdicts/s | wall time | machine CPU busy | passed | runs started (logs) | by worker | takeovers, retries |
|---|---|---|---|---|---|---|---|
| 1 | {one["rate"]:.2f} | {one["wall"]:.1f} s | {one["cpu_busy"]:.0%} | {one["passed"]}/{one["runs"]} | {one["starts"]} | {", ".join(f"{k}: {v}" for k, v in sorted(one["by_worker"].items()))} | {one["takeovers"]}, {one["retries"]} |
| 2 | {two["rate"]:.2f} | {two["wall"]:.1f} s | {two["cpu_busy"]:.0%} | {two["passed"]}/{two["runs"]} | {two["starts"]} | {", ".join(f"{k}: {v}" for k, v in sorted(two["by_worker"].items()))} | {two["takeovers"]}, {two["retries"]} |

Speed-up with the second process: **{two["rate"] / one["rate"]:.2f}×**. "Machine CPU
busy" is all of this machine's {os.cpu_count()} cores over the batch, shared with the site,
PostgreSQL, Redis and whatever else runs here: a run keeps more than one core busy by
itself (the student's server and the grader suite run side by side), so where one
worker already fills the machine a second one on the same cores cannot add much. Two
workers on two hosts each bring their own cores (README, "N workers on N hosts").

## The site under load (wrk, one signed-in student per request)

`GET {PAGE}` (the exercise page with the editor) as signed-in students, rotating over 50
student sessions; each student is enrolled in a cohort and has one queued attempt (so the
page shows the attempt and its place in the queue). "Think time": each connection waits {THINK_MS[0] / 1000:g}–{THINK_MS[1] / 1000:g} s between requests, as a
person does (≈ {50 / (sum(THINK_MS) / 2000):.0f} requests/s offered by the 50); "submit mix": one request in ten is a submission (HTTP 202, queued: no
worker consumes during this part, so the web process is what is measured).
"Saturation": no think time, every connection sends its next request at once (closed
loop: latency there is 50 / throughput, whatever the server). "2 web processes": two
gunicorn workers, each accepting on a socket of its own on one port, as on a 2-core host.
Each process runs one request at a time in one long-lived thread, first come first served
(`TALLER_HTTP_CONCURRENCY=1`, the default); the last row is Django's own way under
ASGI, a new thread per request, all at once, for comparison (platform/taller/web/serving.py
says why). "Web CPU": the web processes' CPU time over the scenario, divided by its
requests; the latency grows from it once requests queue, and it varies less from run to
run here than the latency does.

| web processes | scenario | requests/s | p50 ms | p90 ms | p99 ms | max ms | web CPU ms a request | errors |
|---|---|---|---|---|---|---|---|---|
{wrk_row("1 | one connection, one request at a time (no load)", loads[1][0])}
{wrk_row("1 | 50 students, think time, page loads", loads[1][1])}
{wrk_row("1 | 50 students, think time, 10 % submissions", loads[1][2])}
{wrk_row("1 | 50 connections, no think time (saturation)", loads[1][3])}
{wrk_row("2 | one connection, one request at a time (no load)", loads[2][0])}
{wrk_row("2 | 50 students, think time, page loads", loads[2][1])}
{wrk_row("2 | 50 students, think time, 10 % submissions", loads[2][2])}
{wrk_row("2 | 50 connections, no think time (saturation)", loads[2][3])}
{wrk_row("1, a thread per request | 50 students, think time, page loads", threaded)}

Target: page p99 under 50 ms at 50 concurrent clients.

## WebSocket fan-out: {fan["clients"]} connected clients

{fan["clients"]} students, each signed in (own session) and subscribed to their own
submission at `/ws/submissions/<id>/`, as during a class. A separate process pushes a
`finished` event with a real verdict document (21 tests, filtered per viewer by the
consumer) to each submission's group through the Redis channel layer, exactly as a
worker does (`group_send`); latency is from just before the push to receipt by the client.
All {fan["clients"]} clients run in one asyncio process (RLIMIT_NOFILE raised to {nofile}).

| | |
|---|---|
| connected / clients | {fan["connected"]} / {fan["clients"]} |
| time to connect all (50 handshakes at a time, each with its snapshot) | {fan["connect_seconds"]:.1f} s |
| failures | {len(fan["failures"])}{": " + "; ".join(fan["failures"]) if fan["failures"] else ""} |

| push pattern | events received | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|---|
{fan_row("burst: one event to every client, all at once", fan["latencies"]["burst"])}
{fan_row(f"steady: {args.rate:g} events/s spread over the clients", fan["latencies"]["steady"])}

Target: fan-out p99 under 100 ms.

## The web server: gunicorn beside the launcher before it

Until issue 21, `taller-web` started one Daphne process per core, each accepting on a
socket of its own on the port (SO_REUSEPORT), and started a dead one again; now gunicorn
does (taller/web/gunicorn_conf.py), with uvicorn workers, the application loaded once
before the fork; the last row is gunicorn with Django's own request handler instead of
serving.py's. Here all of them up at once, on ports of their own, two web processes each
(one per core here), then each measured in turn, {args.server_rounds} round{"s" if args.server_rounds != 1 else ""}, the order turned each
round so that the machine's drift lands on all alike, the same students: the page with 50 students and think time as above
({args.wrk_seconds} s), then the fan-out to the same {args.clients} WebSocket clients (a burst, then
{args.rate:g} events/s). "Busiest process": its part of the web processes' CPU over the page
scenario (50 % is an even split); "load": this machine's load average as the block
started.

| server | median page p99 ms | web CPU ms a page | busiest process | median fan-out p99 ms, steady | burst |
|---|---|---|---|---|---|
{server_summary_text}

| server | round | load | page requests/s | page p50 ms | page p99 ms | web CPU ms a page | busiest process | errors | WebSockets connected | fan-out p99 ms, burst | steady |
|---|---|---|---|---|---|---|---|---|---|---|---|
{server_rows_text}

Targets as above: page p99 under 50 ms, fan-out p99 under 100 ms.

Restarts under load: gunicorn replaces a process after `WEB_MAX_REQUESTS` requests (and
one that dies); the launcher before it only started a dead one again. Here two processes
each replaced after {RESTART_EVERY} requests, 50 connections with no think time on `/healthz`
for {args.wrk_seconds} s (wrk). wrk counts a "read" error where a keep-alive connection was closed
by a process leaving as a request was sent on it (a browser sends such a request again);
"connect" and "write" errors are connections refused or reset.

| sockets | requests | processes replaced | connect errors | read | write | timeout | non-2xx |
|---|---|---|---|---|---|---|---|
{restart_rows_text}

Web process errors logged during the run: {web_log.count('"level": "ERROR"')}.
"""
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
