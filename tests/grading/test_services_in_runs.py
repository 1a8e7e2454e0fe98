"""Per-run services through the whole runner: sandboxed student code and the grader suite
both reach the run's own PostgreSQL, MongoDB, RabbitMQ and Kafka broker (tests/services
proves the release)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from taller_grader.results import RunStatus
from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, ServiceProvider, grade
from taller_grader.sandbox.services import (
    KafkaConfig,
    MongoConfig,
    PostgresConfig,
    RabbitConfig,
    ServicesConfig,
    build_services,
)

REPO = Path(__file__).resolve().parents[2]
MONGO_SERVER = Path("/var/lib/taller/mongo-venv/bin/secantusd-py")
STATE = Path(os.environ.get("TALLER_TEST_SERVICES_STATE", "/var/tmp/taller-test-services"))

pytestmark = [
    pytest.mark.end_to_end,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("bwrap") is None or not MONGO_SERVER.exists(),
        reason="needs root, bubblewrap and scripts/setup-services.sh",
    ),
]

SERVER = {
    "postgres": """
const http = require("node:http");
const { Pool } = require("pg");
const pool = new Pool();  // PG* variables only, as the seed's new Client()
http.createServer(async (req, res) => {
  await pool.query("CREATE TABLE IF NOT EXISTS visitas (id serial primary key)");
  const r = await pool.query("INSERT INTO visitas DEFAULT VALUES RETURNING id");
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ id: r.rows[0].id }));
}).listen(process.env.PORT);
""",
    "mongo": """
const http = require("node:http");
const mongoose = require("mongoose");
const Visita = mongoose.model("Visita", new mongoose.Schema({ n: Number }));
mongoose.connect(process.env.MONGODB_URI).then(() => {
  http.createServer(async (req, res) => {
    const v = await Visita.create({ n: 1 });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ id: String(v._id) }));
  }).listen(process.env.PORT);
});
""",
    "rabbitmq": """
const http = require("node:http");
const amqp = require("amqplib");
amqp.connect(process.env.AMQP_URL).then(async (conn) => {
  const ch = await conn.createChannel();
  await ch.assertQueue("visitas", { durable: true });
  http.createServer((req, res) => {
    ch.sendToQueue("visitas", Buffer.from(JSON.stringify({ id: 1 })), { persistent: true });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ id: 1 }));
  }).listen(process.env.PORT);
});
""",
    "kafka": """
const http = require("node:http");
const { Kafka, logLevel } = require("kafkajs");
const brokers = process.env.KAFKA_BROKERS.split(",");
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
(async () => {
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({ topics: [{ topic: "visitas", numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer(); await producer.connect();
  http.createServer(async (req, res) => {
    const value = JSON.stringify({ id: 1 });
    await producer.send({ topic: "visitas", messages: [{ key: "1", value }] });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ id: 1 }));
  }).listen(process.env.PORT);
})();
""",
}

# The grader reads the service itself, as the course's suites do.
SUITE_TEXT = {
    "postgres": """
def test_the_row_is_in_the_runs_database(http, pg):
    made = http.post("/", json={}).expect_json(200)["id"]
    assert made in [r[0] for r in pg.execute("SELECT id FROM visitas")]
""",
    "mongo": """
def test_the_document_is_in_the_runs_database(http, mongo):
    made = http.post("/", json={}).expect_json(200)["id"]
    assert made in [str(d["_id"]) for d in mongo["visitas"].find()]
""",
    "rabbitmq": """
def test_the_message_is_on_the_runs_queue(http, amqp_queue):
    http.post("/", json={}).expect_json(200)
    assert amqp_queue.get("visitas") == {"id": 1}
""",
    "kafka": """
import json

import pytest
from kafka import KafkaConsumer, TopicPartition

from taller_grader.sdk.control import ControlError


def test_the_event_is_on_the_runs_broker(http, run_env, control):
    http.post("/", json={}).expect_json(200)
    reader = KafkaConsumer(bootstrap_servers=run_env["KAFKA_BROKERS"], consumer_timeout_ms=5000)
    reader.assign([TopicPartition("visitas", 0)])
    reader.seek(TopicPartition("visitas", 0), 0)
    assert [(m.key, json.loads(m.value)) for m in reader][:1] == [(b"1", {"id": 1})]
    reader.close()
    # The suite may freeze the run's own broker, and only a service the run has.
    control.call("pause-service", service="kafka", seconds=0.2)
    with pytest.raises(ControlError):
        control.call("pause-service", service="postgres", seconds=0.2)
""",
}


@pytest.fixture(scope="module")
def services():
    registry = build_services(
        ServicesConfig(
            postgres=PostgresConfig(state_dir=str(STATE / "postgres"), pool_size=0),
            rabbitmq=RabbitConfig(),
            mongo=MongoConfig(state_dir=str(STATE / "mongo")),
            kafka=KafkaConfig(state_dir=str(STATE / "kafka")),
        )
    )
    yield registry
    for service in registry.values():
        service.close()


@pytest.mark.parametrize("service", ["postgres", "mongo", "rabbitmq", "kafka"])
def test_student_code_and_grader_both_reach_the_runs_own_service(services, service: str) -> None:
    spec = ExerciseSpec(
        slug=f"svc-{service}",
        programs=(ProgramSpec(name="server", command=("node", "server.js")),),
        suite_files={"test_service.py": SUITE_TEXT[service]},
        services=(service,),
        time_limit_seconds=40,
        startup_seconds=15,
    )
    config = RunnerConfig(runtime_dir=REPO / "runtime", services=ServiceProvider(services))
    results = grade(spec, {"server.js": SERVER[service].encode()}, config)
    assert results.status is RunStatus.PASSED, (results.output, results.tests, results.stderr)
