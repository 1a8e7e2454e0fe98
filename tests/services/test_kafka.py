"""The per-run Kafka-compatible broker: a Tansu of its own per run, in the run's network
namespace, unprivileged, gone with the run; driven the way students drive it (kafkajs)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from taller_grader.sandbox.services import KafkaConfig, KafkaService

from .conftest import Netns

# A student's round trip: a topic of 3 partitions, keyed events, a consumer group.
NODE_ROUND_TRIP = """
const { Kafka, logLevel } = require('kafkajs');
const kafka = new Kafka({ clientId: 't', brokers: process.env.KAFKA_BROKERS.split(','),
                          logLevel: logLevel.NOTHING, retry: { retries: 2 } });
(async () => {
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({ topics: [{ topic: process.env.TOPIC, numPartitions: 3 }] });
  const topics = (await admin.listTopics()).filter(t => !t.startsWith('__')).sort();
  await admin.disconnect();
  const producer = kafka.producer(); await producer.connect();
  const consumer = kafka.consumer({ groupId: 'g', sessionTimeout: 6000, heartbeatInterval: 500,
                                    maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: process.env.TOPIC, fromBeginning: true });
  const got = [];
  const all = new Promise(resolve => consumer.run({ eachMessage: async ({ partition, message }) => {
    got.push([message.key.toString(), partition]); if (got.length === 4) resolve(); } }));
  for (const k of ['1', '2', '1', '3'])
    await producer.send({ topic: process.env.TOPIC, messages: [{ key: k, value: 'v' + k }] });
  await all;
  await consumer.disconnect(); await producer.disconnect();
  console.log(JSON.stringify({ ok: true, topics, got }));
})().catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
                 process.exit(0); });
"""

NODE_PING = """
const { Kafka, logLevel } = require('kafkajs');
const kafka = new Kafka({ clientId: 't', brokers: process.env.KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING, connectionTimeout: 500, retry: { retries: 0 } });
const admin = kafka.admin();
admin.connect().then(() => admin.listTopics())
  .then(t => { console.log(JSON.stringify({ ok: true, topics: t })); return admin.disconnect(); })
  .catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
                process.exit(0); });
"""


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _stopped_soon(pid: int) -> bool:
    """Whether the process is seen stopped (a signal is delivered asynchronously)."""
    deadline = time.monotonic() + 2
    while _state(pid) != "T":
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def test_kafkajs_round_trip_and_release(
    kafka: KafkaService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    grant = kafka.provision("run-k", ns.path)
    assert grant.env == {"KAFKA_BROKERS": "127.0.0.1:9092"}
    run = kafka._runs["run-k"]
    assert run.process is not None
    pid = run.process.pid
    if os.geteuid() == 0:
        assert os.stat(f"/proc/{pid}").st_uid != 0  # the broker runs unprivileged
    # In the run's namespace, not the host's.
    assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(ns.path).st_ino

    out = ns.node(NODE_ROUND_TRIP, {**grant.env, "TOPIC": "pedidos.creados"})
    assert out["ok"] is True, out
    assert out["topics"] == ["pedidos.creados"]
    got = out["got"]
    assert sorted(k for k, _ in got) == ["1", "1", "2", "3"]
    # One key, one partition: the two events of key 1 came from the same one.
    assert len({p for k, p in got if k == "1"}) == 1

    directory = run.directory
    kafka.release("run-k")
    assert _gone(pid)
    assert not directory.exists()
    assert ns.node(NODE_PING, dict(grant.env))["ok"] is False
    kafka.release("run-k")  # twice is fine


def test_runs_have_separate_brokers(
    kafka: KafkaService, make_netns: Callable[[], Netns], host_node: Netns
) -> None:
    ns1, ns2 = make_netns(), make_netns()
    g1 = kafka.provision("run-k1", ns1.path)
    g2 = kafka.provision("run-k2", ns2.path)
    try:
        assert ns1.node(NODE_ROUND_TRIP, {**g1.env, "TOPIC": "uno"})["topics"] == ["uno"]
        # The same address in another namespace is another broker: run 1's topic is absent.
        assert ns2.node(NODE_ROUND_TRIP, {**g2.env, "TOPIC": "dos"})["topics"] == ["dos"]
        # And the host's 127.0.0.1:9092 is neither.
        host = host_node.node(NODE_PING, dict(g1.env))
        assert host["ok"] is False or "uno" not in host.get("topics", [])  # type: ignore[operator]
    finally:
        kafka.release("run-k1")
        kafka.release("run-k2")


def test_pause_freezes_the_broker_then_resumes_it(
    kafka: KafkaService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    grant = kafka.provision("run-kp", ns.path)
    try:
        pid = kafka.pid("run-kp")
        assert pid is not None
        kafka.pause("run-kp", 1.0)
        assert _stopped_soon(pid)  # stopped: nothing it receives is answered
        # A client started now is answered once the broker resumes by itself.
        out = ns.node(NODE_ROUND_TRIP, {**grant.env, "TOPIC": "t"})
        assert out["ok"] is True, out
        assert _state(pid) != "T"
    finally:
        kafka.release("run-kp")


def test_broker_memory_is_capped(
    kafka_config: KafkaConfig, make_netns: Callable[[], Netns]
) -> None:
    """A run that fills its broker's memory kills its own broker, not the host."""
    ns = make_netns()
    svc = KafkaService(
        KafkaConfig(
            broker_bin=kafka_config.broker_bin,
            state_dir=kafka_config.state_dir,
            prefix=kafka_config.prefix,
            memory_limit_mb=96,
        )
    )
    grant = svc.provision("run-km", ns.path)
    try:
        pid = svc.pid("run-km")
        assert pid is not None
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert f"{96 * 1024 * 1024}" in limits.split("Max address space")[1].splitlines()[0]
        flood = """
const { Kafka, logLevel } = require('kafkajs');
const kafka = new Kafka({ clientId: 't', brokers: [process.env.KAFKA_BROKERS],
  logLevel: logLevel.NOTHING, retry: { retries: 0 }, requestTimeout: 3000 });
(async () => { const p = kafka.producer(); await p.connect();
  const value = Buffer.alloc(512 * 1024, 120);
  for (let i = 0; i < 400; i++) await p.send({ topic: 'flood', messages: [{ value }] });
  console.log(JSON.stringify({ ok: true }));
})().catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
                 process.exit(0); });
"""
        out = ns.node(flood, dict(grant.env), timeout=60)
        # 200 MB does not fit in 96 MB: the broker gave up, the host did not.
        assert out["ok"] is False, out
        assert svc._runs["run-km"].process.wait(timeout=10) is not None  # type: ignore[union-attr]
    finally:
        svc.close()


def test_sweep_kills_and_removes_crash_leftovers(
    kafka: KafkaService, kafka_config: KafkaConfig, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    crashed = KafkaService(kafka_config)
    crashed.provision("run-kc", ns.path)
    run = crashed._runs.pop("run-kc")  # the worker died: nobody will release it
    assert run.process is not None
    assert run.name not in kafka.sweep()  # too young for the default age
    assert run.name in kafka.sweep(min_age_seconds=0)
    run.process.wait(timeout=5)  # reap it: in a real crash init does
    assert _gone(run.process.pid)
    assert not run.directory.exists()
