"""Benchmark: submit-to-verdict through the full production path, and a burst.

    .venv/bin/python bench/pipeline.py [--runs 15] [--students 60] [--per-student 5]

Starts its own stack (a database `taller_bench` on the PostgreSQL of DATABASE_URL, a
Redis of its own, Daphne, a Celery worker) and writes bench/reports/pipeline.md:

- the floor: the rest-api suite run directly against a bare `node` server (no sandbox,
  no queue, no database), and the same reference solution submitted over HTTP and
  followed on a WebSocket until its verdict, side by side;
- a burst: S students each submitting P times (one in flight each, as the platform
  allows), with throughput, the longest wait of any student's first submission, and
  proof that no submission was lost or graded twice.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from tests.production.stack import Browser, RedisServer, Stack, base_env, free_port  # noqa: E402

SOLUTION = {"server.js": (REPO / "exercises/rest-api/solution/server.js").read_text()}
PASSWORD = "bench-password-1234"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def floor_once(suite_dir: Path, info: Path, port: int) -> float:
    """The suite against a bare node server: what grading costs with no platform."""
    env = {
        "PATH": os.environ["PATH"],
        "PORT": str(port),
        "NODE_PATH": str(REPO / "runtime/node_modules"),
    }
    started = time.monotonic()
    server = subprocess.Popen(
        ["node", "server.js"], cwd=suite_dir / "app", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import socket

        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                break
            except OSError:
                time.sleep(0.005)
        subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "taller_grader.sdk.plugin", "-p", "no:cacheprovider",
             "-q", "--no-header", str(suite_dir / "suite")],
            env={**os.environ, "TALLER_RUN_INFO": str(info), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            stdout=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        return time.monotonic() - started
    finally:
        server.kill()
        server.wait()


def measure_floor(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app/server.js").write_text(SOLUTION["server.js"])
        (root / "suite").mkdir()
        for test in (REPO / "graders/rest-api").glob("test_*.py"):
            (root / "suite" / test.name).write_text(test.read_text())
        port = free_port()
        info = root / "run.json"
        info.write_text(json.dumps({"env": {}, "programs": {"server": {"port": port}}}))
        floor_once(root, info, port)  # warm the page cache
        return [floor_once(root, info, port) for _ in range(runs)]


def submit_and_follow(browser: Browser) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    submitted = browser.submit("rest-api", SOLUTION)
    with browser.websocket(submitted["ws_path"]) as ws:
        while True:
            event = json.loads(ws.recv(timeout=300))
            if event["type"] == "finished":
                return time.monotonic() - started, event["results"]
            if event["type"] == "snapshot" and event["results"] is not None:
                return time.monotonic() - started, event["results"]


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
    parser.add_argument("--report", default=str(REPO / "bench/reports/pipeline.md"))
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "postgres://taller:taller@127.0.0.1:5432/taller")
    database_url = prepare_database(admin_url, "taller_bench")
    work = Path(tempfile.mkdtemp(prefix="taller-bench-"))
    redis = RedisServer(work)
    redis.start()
    static_root = work / "static"
    env = base_env(database_url, redis.url, static_root)
    env["TALLER_SUBMISSIONS_PER_MINUTE"] = "100"
    print("preparing the database and static files…", flush=True)
    django(env, "migrate", "--noinput", "-v0")
    django(env, "collectstatic", "--noinput", "-v0")
    django(env, "sync_exercises", "-v0")
    names = [f"estudiante{n:03d}" for n in range(max(args.students, 1))]
    django(
        env, "shell", "-c",
        "from taller.accounts.services import create_user; from taller.accounts.roles import Role\n"
        f"for n in {names!r}: create_user(username=n, password={PASSWORD!r}, role=Role.STUDENT)",
    )  # fmt: skip

    stack = Stack(env=env, logs=work)
    try:
        print(f"floor: {args.runs} runs of the suite against bare node…", flush=True)
        floor = measure_floor(args.runs)
        stack.start_worker("bench", concurrency=args.concurrency)
        stack.start_web()
        browser = Browser(stack.port)
        browser.sign_in(names[0], PASSWORD)
        submit_and_follow(browser)  # warm caches, pools, the per-run cluster
        print(f"full path: {args.runs} sequential submissions…", flush=True)
        full = []
        for _ in range(args.runs):
            seconds, results = submit_and_follow(browser)
            assert results["status"] == "passed", results["output"]
            full.append(seconds)

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
            for i, name in enumerate(("submitted → queued", "queued → started", "started → finished"))
        }

        print(f"burst: {args.students} students × {args.per_student} submissions…", flush=True)
        first_waits: list[float] = []
        all_waits: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()

        def student(name: str) -> None:
            try:
                me = Browser(stack.port)
                me.sign_in(name, PASSWORD)
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
        burst_started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        burst_seconds = time.monotonic() - burst_started

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

    total = sum(count for _, count, _, _ in rows)
    expected = 1 + args.runs + args.students * args.per_student
    floor_median, full_median = statistics.median(floor), statistics.median(full)
    report = f"""# Pipeline benchmark

Measured {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} on this machine ({os.cpu_count()} cores),
`bench/pipeline.py --runs {args.runs} --students {args.students} --per-student {args.per_student}
--concurrency {args.concurrency}`: PostgreSQL, a Redis of its own, Daphne (production
settings), one Celery worker with {args.concurrency} processes, the bwrap sandbox.

## Submit to verdict, `rest-api` reference solution (21 tests)

| path | median | p95 | runs |
|---|---|---|---|
| floor: the suite (pytest + SDK) against a bare `node server.js` | {floor_median:.3f} s | {percentile(floor, 0.95):.3f} s | {len(floor)} |
| full path: HTTP submit → Celery → sandbox → suite → WebSocket verdict | {full_median:.3f} s | {percentile(full, 0.95):.3f} s | {len(full)} |

Ratio full / floor: **{full_median / floor_median:.2f}×** (target ≤ 1.5×); full path median
**{full_median:.2f} s** (target < 0.5 s).

Where the full path's median goes (phase timestamps recorded by the platform; the rest is
the HTTP submit before the row exists and the push of the verdict to the WebSocket):

| phase | median |
|---|---|
{"".join(f"| {name} | {max(seconds, 0.0) * 1000:.0f} ms |{chr(10)}" for name, seconds in breakdown.items())}| the rest (HTTP request, WebSocket push) | {(full_median - sum(breakdown.values())) * 1000:.0f} ms |

## Burst: {args.students} students × {args.per_student} submissions (one in flight each)

| | |
|---|---|
| wall time | {burst_seconds:.1f} s |
| throughput | {args.students * args.per_student / max(burst_seconds, 1e-9):.2f} verdicts/s |
| longest wait of a student's first submission | {max(first_waits) if first_waits else float("nan"):.1f} s |
| submit-to-verdict under load: median / p95 / max | {statistics.median(all_waits or [float("nan")]):.1f} / {percentile(all_waits or [float("nan")], 0.95):.1f} / {max(all_waits, default=float("nan")):.1f} s |
| submissions in the database / expected | {total} / {expected} |
| by status | {", ".join(f"{s}: {c}" for s, c, _, _ in rows)} |
| runs started (worker log) / submissions | {starts} / {total} |
| takeovers, retries | {sum(t or 0 for _, _, t, _ in rows)}, {sum(r or 0 for _, _, _, r in rows)} |
| submissions without exactly 21 test results | {tests_per} |
| client-side failures | {len(failures)}{": " + "; ".join(failures[:5]) if failures else ""} |
"""
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
