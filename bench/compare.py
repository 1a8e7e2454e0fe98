"""Benchmark: the exercise page under load at two revisions, side by side.

    .venv/bin/python bench/compare.py BASE [--blocks 4] [--seconds 20] [--processes 1]

This machine's speed drifts by a quarter within an hour (bench/scale.py's report
measures it), more than most changes to a page save, so one run before and one after a
change cannot tell them apart. Here BASE (a git revision, checked out in a temporary
worktree) and the working tree each run web processes of their own (gunicorn's, or
Daphne's where BASE predates gunicorn, or as --server says), with the production settings, against one PostgreSQL database, one Redis and the same 50
signed-in students (bench/scale.py's), and take turns: short wrk blocks of 50 students
with 1 to 3 s think time, in the order A B B A A B…, so that a drift lands on both alike.
For each block: the web process's CPU time per request, and the latency p50 and p99.

The database is migrated and the course synced by the working tree: BASE must share its
schema. Writes bench/reports/compare.md. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import os
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

from pipeline import prepare_database  # noqa: E402
from scale import THINK_MS, WEB_ENV, cpu_steadiness, prepare_site, wrk  # noqa: E402

from tests.production.stack import RedisServer, Stack, base_env  # noqa: E402


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", help="the revision to compare the working tree with")
    parser.add_argument("--blocks", type=int, default=4, help="wrk blocks per side")
    parser.add_argument("--seconds", type=int, default=20, help="length of a block")
    parser.add_argument("--processes", type=int, default=1, help="web processes per side")
    parser.add_argument(
        "--server",
        choices=["gunicorn", "daphne"],
        help="both sides' web server (default: gunicorn, unless BASE has no gunicorn_conf.py)",
    )
    parser.add_argument("--report", default=str(REPO / "bench/reports/compare.md"))
    args = parser.parse_args()

    base_commit = git("rev-parse", "--short", args.base)
    changed = git("status", "--porcelain", "--untracked-files=no")
    head = git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if changed else "")
    work = Path(tempfile.mkdtemp(prefix="taller-compare-"))
    tree = work / "base"
    git("worktree", "add", "--detach", str(tree), base_commit)
    try:
        blocks, labels, steady = measure(args, work, tree, base_commit, head)
    finally:
        git("worktree", "remove", "--force", str(tree))
    report(args, blocks, labels, steady)


def measure(
    args: argparse.Namespace, work: Path, tree: Path, base_commit: str, head: str
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], tuple[float, float]]:
    admin_url = os.environ.get("DATABASE_URL", "postgres://taller:taller@127.0.0.1:5432/taller")
    database_url = prepare_database(admin_url, "taller_compare")
    redis = RedisServer(work)
    redis.start()
    env = base_env(database_url, redis.url, work / "static")
    print("preparing the database, static files and students…", flush=True)
    sessions = [s["session"] for s in prepare_site(env, work, 50)]
    steady = cpu_steadiness()
    if args.server is None:
        conf = tree / "platform/taller/web/gunicorn_conf.py"
        args.server = "gunicorn" if conf.exists() else "daphne"

    # The base's code and templates come first on its process's path: the package is
    # installed from the working tree.
    sides = {
        "A": (args.base if args.base.startswith(base_commit) else f"{args.base} ({base_commit})", {"PYTHONPATH": str(tree / "platform"), "TALLER_HOME": str(tree)}),
        "B": (f"working tree ({head})", {}),
    }  # fmt: skip
    stacks: dict[str, Stack] = {}
    blocks: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    try:
        for side, (_, extra) in sides.items():
            (work / side).mkdir()
            stacks[side] = Stack(env={**env, **extra}, logs=work / side)
            stacks[side].start_web(processes=args.processes, extra_env=WEB_ENV, server=args.server)
            wrk(stacks[side], sessions, work, 5, (0, 0), 0, connections=1)  # warm
        order = ["A", "B", "B", "A"] * (args.blocks // 2 + 1)
        for n, side in enumerate(order[: 2 * args.blocks]):
            measured = wrk(stacks[side], sessions, work, args.seconds, THINK_MS, 0)
            blocks[side].append(measured)
            print(
                f"block {n + 1} {side}: {measured['cpu'] * 1000:.2f} ms CPU a request, "
                f"p50 {measured['p50'] / 1000:.1f} ms, p99 {measured['p99'] / 1000:.1f} ms",
                flush=True,
            )
    finally:
        for stack in stacks.values():
            stack.stop_all()
        redis.stop()
    return blocks, {side: label for side, (label, _) in sides.items()}, steady


def report(
    args: argparse.Namespace,
    blocks: dict[str, list[dict[str, Any]]],
    labels: dict[str, str],
    steady: tuple[float, float],
) -> None:
    def median(side: str, key: str, scale: float) -> float:
        return statistics.median(b[key] * scale for b in blocks[side])

    rows = "\n".join(
        f"| {label} | {median(side, 'cpu', 1000):.2f} | {median(side, 'p50', 1e-3):.1f} "
        f"| {median(side, 'p99', 1e-3):.1f} | "
        + ", ".join(f"{b['cpu'] * 1000:.1f} / {b['p99'] / 1000:.0f}" for b in blocks[side])
        + " |"
        for side, label in labels.items()
    )
    cpu_a, cpu_b = median("A", "cpu", 1000), median("B", "cpu", 1000)
    text = f"""# The exercise page at two revisions

Measured {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} on this machine ({os.cpu_count()} cores), `bench/compare.py
{args.base} --blocks {args.blocks} --seconds {args.seconds} --processes {args.processes}`. Each side:
{args.processes} web process{"es" if args.processes > 1 else ""} ({args.server}) with the production settings; both on one PostgreSQL
and one Redis. 50 signed-in students (each enrolled, with one queued attempt) load
`/ejercicios/rest-api/` with {THINK_MS[0] / 1000:g}–{THINK_MS[1] / 1000:g} s think time, in
{args.seconds} s blocks taken in turn (A B B A …). The machine's steadiness before: one
fixed piece of pure-Python work took p50 {steady[0]:.1f} ms, p99 {steady[1]:.1f} ms.

| side | web CPU ms a request (median of blocks) | p50 ms | p99 ms | each block: CPU ms / p99 ms |
|---|---|---|---|---|
{rows}

The working tree's page costs **{(cpu_b / cpu_a - 1) * 100:+.0f} %** of the web process's CPU
against {args.base}'s.
"""
    Path(args.report).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
