"""Per-run overhead of the sandbox backends: bubblewrap vs containers (docker API).

    .venv/bin/python bench/sandbox_backends.py [--runs 10] [--out bench/reports/docker.md]

Needs root, bubblewrap, and for the docker backend an engine at $TALLER_DOCKER_URL
(scripts/podman-service.sh start; scripts/runtime-image.sh). Each run opens a sandbox,
runs `node -e 0` (a trivial program: what is measured is the sandbox, not node), waits
for it and closes the sandbox. The docker backend's phases are timed as well, through the
raw API: holder create/start, program create/start/wait/remove, holder remove.
Writes a Markdown report.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from taller_grader.sandbox import Limits, engine, open_sandbox

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "runtime"


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def _row(name: str, xs: list[float]) -> str:
    ms = [x * 1000 for x in xs]
    return f"| {name} | {statistics.median(ms):.0f} | {_p95(ms):.0f} | {min(ms):.0f} |"


def whole_run(kind: str, runs: int) -> dict[str, list[float]]:
    phases: dict[str, list[float]] = {"open": [], "start+wait": [], "close": [], "total": []}
    for i in range(runs + 1):
        t0 = time.perf_counter()
        sb = open_sandbox(
            {"a.js": b"0"},
            Limits(),
            runtime_dir=RUNTIME,
            backend="docker" if kind == "docker" else "bwrap",
        )
        t1 = time.perf_counter()
        info = sb.start(["node", "-e", "0"]).wait(60)
        assert info is not None and info.ok, info
        t2 = time.perf_counter()
        sb.close()
        t3 = time.perf_counter()
        if i == 0:
            continue  # the first run pays for a cold cache and new connections
        for key, value in (("open", t1 - t0), ("start+wait", t2 - t1), ("close", t3 - t2)):
            phases[key].append(value)
        phases["total"].append(t3 - t0)
    return phases


def raw_phases(runs: int) -> dict[str, list[float]]:
    client = engine.connect()
    api = client.api
    image = engine.docker_image()
    names = ["holder create", "holder start", "create", "start", "wait", "remove", "holder rm"]
    out: dict[str, list[float]] = {n: [] for n in names}
    try:
        for i in range(runs + 1):
            marks = [time.perf_counter()]
            holder = api.create_container(
                image,
                command=["sleep", "infinity"],
                host_config=api.create_host_config(network_mode="none", read_only=True),
            )["Id"]
            marks.append(time.perf_counter())
            api.start(holder)
            marks.append(time.perf_counter())
            program = api.create_container(
                image,
                command=["node", "-e", "0"],
                host_config=api.create_host_config(
                    network_mode=f"container:{holder}", read_only=True, init=True
                ),
            )["Id"]
            marks.append(time.perf_counter())
            api.start(program)
            marks.append(time.perf_counter())
            api.wait(program)
            marks.append(time.perf_counter())
            api.remove_container(program, force=True)
            marks.append(time.perf_counter())
            api.remove_container(holder, force=True)
            marks.append(time.perf_counter())
            if i == 0:
                continue
            for name, a, b in zip(names, marks, marks[1:], strict=False):
                out[name].append(b - a)
    finally:
        client.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "reports" / "docker.md")
    args = parser.parse_args()
    series: list[tuple[str, Callable[[], dict[str, list[float]]]]] = [
        ("bwrap", lambda: whole_run("bwrap", args.runs)),
        ("docker (podman)", lambda: whole_run("docker", args.runs)),
        ("docker API phases", lambda: raw_phases(args.runs)),
    ]
    lines = [
        "# Sandbox backends: per-run overhead",
        "",
        f"Made by `bench/sandbox_backends.py` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}"
        f" UTC, {args.runs} runs each after one warm-up, on {platform.node()} "
        f"({os.cpu_count()} CPUs). Milliseconds.",
        "",
    ]
    for title, measure in series:
        phases = measure()
        lines += [f"## {title}", "", "| phase | median | p95 | min |", "|---|---:|---:|---:|"]
        lines += [_row(name, xs) for name, xs in phases.items()]
        lines.append("")
        print(f"{title} done", file=sys.stderr)
    load = os.getloadavg()
    lines.append(f"Load average at the end: {load[0]:.2f} (other work shared the machine).")
    lines += [
        "",
        "Reading: *open* is the work-dir tmpfs plus the run's network holder container",
        "(create + start + inspect + netns bind mount); *start+wait* creates the program's",
        "container, attaches, starts it and sees it exit (through inspect once its output",
        "stream ends, since podman's wait endpoint polls: compare the raw `wait` phase);",
        "*close* force-removes the program and holder containers. bubblewrap does the",
        "same work with clone(2) and a few cgroup writes. The docker backend's overhead is",
        "paid once per run and per program, not per test: a grader suite of 20 tests",
        "against one server pays it once.",
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
