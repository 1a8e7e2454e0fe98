"""What the sandbox adds to a run: bare `node` against a sandboxed one, side by side.

    sudo .venv/bin/python bench/sandbox.py [--runs 30]

Writes bench/reports/sandbox.md. Both sides get the same clean environment (this
environment's NODE_EXTRA_CA_CERTS alone costs node ~60 ms at start-up) and the same port
polling, so the difference is the sandbox's own cost: building the run (files, tmpfs,
cgroup, netns), bwrap's set-up, and tearing everything down.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "graders"))

from taller_grader.sandbox import Limits, open_sandbox  # noqa: E402
from taller_grader.sandbox.netns import inside_netns, wait_for_port  # noqa: E402

RUNTIME = ROOT / "runtime"
REPORT = ROOT / "bench" / "reports" / "sandbox.md"
NODE = "/usr/bin/node"
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
SERVER = b"""
const express = require("express");
const app = express();
app.get("/", (req, res) => res.json({ ok: true }));
app.listen(process.env.PORT);
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _host_port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05):
            return True
    except OSError:
        return False


def _get(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


def bare_node_e0() -> None:
    subprocess.run([NODE, "-e", "0"], env=CLEAN_ENV, check=True)


LIMITS = Limits()


def sandboxed_node_e0() -> None:
    with open_sandbox({}, LIMITS, runtime_dir=RUNTIME) as sb:
        info = sb.start(["node", "-e", "0"]).wait(10)
        assert info is not None and info.ok, info


def bare_express(workdir: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [NODE, "server.js"],
        cwd=workdir,
        env={**CLEAN_ENV, "PORT": str(port)},
    )
    try:
        deadline = time.monotonic() + 10
        while not _host_port_open(port):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        assert _get(port) == 200
    finally:
        server.kill()
        server.wait()


def sandboxed_express() -> None:
    with open_sandbox({"server.js": SERVER}, LIMITS, runtime_dir=RUNTIME) as sb:
        server = sb.start(["node", "server.js"])
        assert wait_for_port(sb.netns_path, 3000, 10, alive=lambda: server.running)
        with inside_netns(sb.netns_path):
            conn = http.client.HTTPConnection("127.0.0.1", 3000, timeout=5)
            conn.connect()
        try:
            conn.request("GET", "/")
            assert conn.getresponse().status == 200
        finally:
            conn.close()


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure(
    bare: Callable[[], None], boxed: Callable[[], None], runs: int
) -> tuple[list[float], list[float]]:
    """Both sides' times, alternating so that both see the same machine noise."""
    bare()
    boxed()  # warm caches (page cache, the seccomp filter, imports)
    bare_times, boxed_times = [], []
    for _ in range(runs):
        bare_times.append(_timed(bare))
        boxed_times.append(_timed(boxed))
    return bare_times, boxed_times


def phases(runs: int) -> dict[str, float]:
    """Where a sandboxed `node -e 0` spends its time (medians, ms)."""
    found: dict[str, list[float]] = {}
    for _ in range(runs):
        t0 = time.perf_counter()
        sb = open_sandbox({}, LIMITS, runtime_dir=RUNTIME)
        t1 = time.perf_counter()
        program = sb.start(["node", "-e", "0"])
        t2 = time.perf_counter()
        program.wait(10)
        t3 = time.perf_counter()
        sb.close()
        t4 = time.perf_counter()
        for name, value in (
            ("open", t1 - t0),
            ("start", t2 - t1),
            ("node", t3 - t2),
            ("close", t4 - t3),
        ):
            found.setdefault(name, []).append(value * 1000)
    return {name: statistics.median(values) for name, values in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    global LIMITS
    if os.geteuid() != 0:
        sys.exit("run as root: the sandbox needs cgroups, netns and tmpfs mounts")
    # The bare server needs the shared modules next to it, as the sandbox provides them.
    bare_dir = RUNTIME / ".bench"
    bare_dir.mkdir(exist_ok=True)
    (bare_dir / "server.js").write_bytes(SERVER)
    # The default quota (1 core) slows node's multi-threaded start-up by itself; the
    # all-cores row shows what the isolation costs apart from that limit.
    quotas = [Limits().cpus, float(os.cpu_count() or 1)]
    rows = []
    load_before = os.getloadavg()[0]
    try:
        for cpus in quotas:
            LIMITS = Limits(cpus=cpus)
            for label, bare, boxed in [
                ("`node -e 0`", bare_node_e0, sandboxed_node_e0),
                (
                    "Express: start, answer one GET",
                    lambda: bare_express(bare_dir),
                    sandboxed_express,
                ),
            ]:
                bare_times, boxed_times = measure(bare, boxed, args.runs)
                b, s = statistics.median(bare_times), statistics.median(boxed_times)
                bmin, smin = min(bare_times), min(boxed_times)
                rows.append((label, cpus, b, s, bmin, smin))
                print(
                    f"{label} (quota {cpus:g}): bare {b:.1f} ms, sandboxed {s:.1f} ms, "
                    f"+{s - b:.1f} ms ({s / b:.2f}x); best +{smin - bmin:.1f} ms"
                )
        LIMITS = Limits()
        split = phases(args.runs)
    finally:
        (bare_dir / "server.js").unlink()
        bare_dir.rmdir()
    version = subprocess.check_output([NODE, "--version"], env=CLEAN_ENV, text=True)
    lines = [
        "# Sandbox overhead",
        "",
        f"Median of {args.runs} runs each, bare and sandboxed alternating, after one warm-up; "
        f"{os.cpu_count()} cores, kernel {os.uname().release}, node {version.strip()}, "
        f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after.",
        "Both sides use a clean environment (no NODE_EXTRA_CA_CERTS). The sandboxed time "
        "covers the whole run: validating and writing the files, tmpfs mounts, cgroup, "
        "network namespace, bwrap, the program, and tearing it all down.",
        "",
        "| workload | sandbox CPU quota | bare node (median) | sandboxed (median) | added "
        "| ratio | best bare / sandboxed | best added |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, cpus, b, s, bmin, smin in rows:
        lines.append(
            f"| {label} | {cpus:g} | {b:.1f} ms | {s:.1f} ms | +{s - b:.1f} ms "
            f"| {s / b:.2f}x | {bmin:.1f} / {smin:.1f} ms | +{smin - bmin:.1f} ms |"
        )
    lines += [
        "",
        "The minimums approximate each side's cost on an idle machine; medians include the "
        "noise of whatever else the machine was doing (see the load average).",
        "",
        "Phases of a sandboxed `node -e 0` with default limits (medians): "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in split.items())
        + ".",
        "",
        "Targets: at most +15 ms and 1.2x.",
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
