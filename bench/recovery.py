"""Benchmark: how long the platform takes to recover from a lost queue and a killed worker.

    .venv/bin/python bench/recovery.py [--runs 20] [--interval 10]

Starts its own stack (a database `taller_bench_recovery` on the PostgreSQL of
DATABASE_URL, a Redis of its own, gunicorn, Celery workers, beat with the reaper) and
writes bench/reports/recovery.md. Two faults, each with --runs submissions of the
rest-api reference solution, one per student:

- a lost queue: submitted with no worker running, then Redis restarted without
  persistence (every message gone); then a worker and the reaper start;
- a killed worker: runs in flight when the worker is killed with SIGKILL and started
  again at once under the same name (it knows nothing of the runs it held).

For each, the time from the end of the fault until every run is final, and proof that
each was graded once. Target (issue 18): every run final within 60 s of the fault's end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psycopg  # noqa: E402
from pipeline import django, prepare_database  # noqa: E402

from tests.production.stack import Browser, RedisServer, Stack, base_env  # noqa: E402

SOLUTION = {"server.js": (REPO / "exercises/rest-api/solution/server.js").read_text()}
PASSWORD = "bench-password-1234"
TARGET_SECONDS = 60.0


def submit_all(port: int, names: list[str]) -> list[int]:
    ids: list[int] = []
    lock = threading.Lock()

    def one(name: str) -> None:
        browser = Browser(port)
        browser.sign_in(name, PASSWORD)
        submitted = browser.submit("rest-api", SOLUTION)
        with lock:
            ids.append(int(submitted["id"]))

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(ids)


def wait_final(
    database_url: str, ids: list[int], since: float, since_wall: float, timeout: float
) -> dict[str, float]:
    """Until every run is final: seconds after `since` at which each became so; and when
    the reaper acted (the runs it sent again or took over were queued again then)."""
    done: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while len(done) < len(ids) and time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT id FROM submissions_submission WHERE id = ANY(%s) "
                "AND status NOT IN ('queued', 'running')",
                (ids,),
            ).fetchall()
            now = time.monotonic() - since
            for (pk,) in rows:
                done.setdefault(pk, now)
            time.sleep(0.2)
        summary = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'passed'), sum(takeovers), sum(retries),"
            " count(*) FILTER (WHERE status IN ('queued', 'running')),"
            " extract(epoch FROM max(queued_at) FILTER (WHERE takeovers > 0"
            "   OR queued_at > to_timestamp(%s)))"
            " FROM submissions_submission WHERE id = ANY(%s)",
            (since_wall, ids),
        ).fetchone()
    assert summary is not None
    values = sorted(done.values())
    return {
        "runs": len(ids),
        "final": len(done),
        "passed": summary[0],
        "takeovers": summary[1] or 0,
        "retries": summary[2] or 0,
        "left": summary[3],
        "resent": float(summary[4]) - since_wall if summary[4] is not None else float("nan"),
        "first": values[0] if values else float("nan"),
        "median": values[len(values) // 2] if values else float("nan"),
        "last": values[-1] if values else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--interval", type=float, default=10.0, help="the reaper's interval")
    parser.add_argument("--report", default=str(REPO / "bench/reports/recovery.md"))
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "postgres://taller:taller@127.0.0.1:5432/taller")
    database_url = prepare_database(admin_url, "taller_bench_recovery")
    work = Path(tempfile.mkdtemp(prefix="taller-bench-recovery-"))
    redis = RedisServer(work)
    redis.start()
    env = base_env(database_url, redis.url, work / "static")
    print("preparing the database and static files…", flush=True)
    django(env, "migrate", "--noinput", "-v0")
    django(env, "collectstatic", "--noinput", "-v0")
    django(env, "sync_exercises", "-v0")
    names = [f"estudiante{n:03d}" for n in range(2 * args.runs)]
    django(
        env, "shell", "-c",
        "from taller.accounts.services import create_user; from taller.accounts.roles import Role\n"
        f"for n in {names!r}: create_user(username=n, password={PASSWORD!r}, role=Role.STUDENT)",
    )  # fmt: skip

    results: dict[str, dict[str, float]] = {}
    stack = Stack(env=env, logs=work)
    try:
        stack.start_web()
        print(f"lost queue: {args.runs} runs submitted with no worker, then Redis restarted…")
        ids = submit_all(stack.port, names[: args.runs])
        redis.restart()
        fault_end, fault_end_wall = time.monotonic(), time.time()
        stack.start_worker("grading", concurrency=2)
        stack.start_beat(interval=args.interval)
        results["a lost queue (Redis restarted, every message gone)"] = wait_final(
            database_url, ids, fault_end, fault_end_wall, timeout=600
        )

        print(f"killed worker: {args.runs} runs, the worker killed with runs in flight…")
        ids = submit_all(stack.port, names[args.runs :])
        with psycopg.connect(database_url, autocommit=True) as conn:
            while not conn.execute(
                "SELECT count(*) FROM submissions_submission WHERE id = ANY(%s) "
                "AND status = 'running'",
                (ids,),
            ).fetchone()[0]:  # type: ignore[index]
                time.sleep(0.02)
        stack.kill("grading")
        stack.start_worker("grading", concurrency=2)  # the same name, a new process
        fault_end, fault_end_wall = time.monotonic(), time.time()
        results["a killed worker (SIGKILL, restarted under the same name)"] = wait_final(
            database_url, ids, fault_end, fault_end_wall, timeout=600
        )
    finally:
        stack.stop_all()
        redis.stop()

    lines = [
        "# Recovery after faults (`bench/recovery.py`)",
        "",
        f"{args.runs} submissions of the rest-api reference per fault, one worker with two "
        f"processes, the reaper every {args.interval:g} s. Seconds from the end of the fault "
        f"until each run was final. Target: every run final within {TARGET_SECONDS:g} s.",
        "",
        "| fault | final / runs | passed | takeovers | retries | reaper acted | first | median "
        "| last | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fault, r in results.items():
        met = "met" if r["final"] == r["runs"] and r["last"] <= TARGET_SECONDS else "NOT met"
        lines.append(
            f"| {fault} | {r['final']:g} / {r['runs']:g} | {r['passed']:g} | {r['takeovers']:g} "
            f"| {r['retries']:g} | {r['resent']:.1f} s | {r['first']:.1f} s "
            f"| {r['median']:.1f} s | "
            f"{r['last']:.1f} s | {met} |"
        )
    lines += [
        "",
        "A lost queue: the reaper finds each queued run in no queue of the broker and sends "
        'it again, oldest first ("reaper acted": when it last did, from the fault\'s end; '
        "the worker and beat start after the fault). A killed worker: its runs are in no "
        "list of the worker that answers under its name, so the reaper takes them over (one "
        "takeover each). From then on the runs wait for the one worker's two processes: the "
        "last verdict is the grading throughput of the moment, not the recovery.",
        "",
    ]
    Path(args.report).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
