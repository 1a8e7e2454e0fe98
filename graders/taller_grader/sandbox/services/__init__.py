"""Per-run services: a PostgreSQL database, a RabbitMQ vhost, a MongoDB database or a
Kafka-compatible broker of the run's own, created before the run, reachable only from
the run's network namespace, and removed after it.

The platform builds the registry once per worker from its settings and asks it by name::

    services = build_services(ServicesConfig(postgres=PostgresConfig(admin_dsn=...)))
    grant = services["postgres"].provision(run_id, sandbox.netns_path)
    ...  # start the program with grant.env; the grader uses grader_env(run_id)
    services["postgres"].release(run_id)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taller_grader.sandbox.services.base import (
    RunService,
    ServiceError,
    new_name,
    new_password,
)
from taller_grader.sandbox.services.kafka import KafkaConfig, KafkaService
from taller_grader.sandbox.services.mongo import MongoConfig, MongoService
from taller_grader.sandbox.services.netns import Forwarder, in_netns, socket_in_netns
from taller_grader.sandbox.services.postgres import PostgresConfig, PostgresService
from taller_grader.sandbox.services.rabbitmq import RabbitConfig, RabbitMQService

SERVICE_NAMES = ("postgres", "rabbitmq", "mongo", "kafka")


@dataclass(frozen=True, slots=True)
class ServicesConfig:
    postgres: PostgresConfig = field(default_factory=PostgresConfig)
    rabbitmq: RabbitConfig = field(default_factory=RabbitConfig)
    mongo: MongoConfig = field(default_factory=MongoConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)


def build_service(name: str, config: ServicesConfig) -> RunService:
    """One service by name. Nothing is contacted until its first `provision`/`sweep`."""
    if name == "postgres":
        return PostgresService(config.postgres)
    if name == "rabbitmq":
        return RabbitMQService(config.rabbitmq)
    if name == "mongo":
        return MongoService(config.mongo)
    if name == "kafka":
        return KafkaService(config.kafka)
    raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICE_NAMES)}")


def build_services(config: ServicesConfig) -> dict[str, RunService]:
    return {name: build_service(name, config) for name in SERVICE_NAMES}


__all__ = [
    "SERVICE_NAMES",
    "Forwarder",
    "KafkaConfig",
    "KafkaService",
    "MongoConfig",
    "MongoService",
    "PostgresConfig",
    "PostgresService",
    "RabbitConfig",
    "RabbitMQService",
    "RunService",
    "ServiceError",
    "ServicesConfig",
    "build_service",
    "build_services",
    "in_netns",
    "new_name",
    "new_password",
    "socket_in_netns",
]
