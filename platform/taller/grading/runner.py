"""The one bridge from Django to the runner: settings in, `taller_grader` types out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from taller.courses.models import GraderVersion
from taller_grader.results import Results
from taller_grader.runner import (
    ExerciseSpec,
    OnEvents,
    OnVerdict,
    RunnerConfig,
    ServiceProvider,
    grade,
    spec_from_run,
)
from taller_grader.sandbox.services import (
    KafkaConfig,
    MongoConfig,
    PostgresConfig,
    RabbitConfig,
    ServicesConfig,
    build_services,
)


@lru_cache(maxsize=1)
def runner_config() -> RunnerConfig:
    state_dir = settings.TALLER_SANDBOX_STATE_DIR
    backend = settings.TALLER_SANDBOX_BACKEND
    if backend not in ("bwrap", "docker"):
        raise ImproperlyConfigured(
            f"TALLER_SANDBOX_BACKEND must be bwrap or docker, not {backend!r}"
        )
    return RunnerConfig(
        runtime_dir=Path(settings.TALLER_RUNTIME_DIR),
        state_dir=Path(state_dir) if state_dir else None,
        services=ServiceProvider(build_services(_services_config())),
        sandbox_backend=cast(Literal["bwrap", "docker"], backend),
        docker_url=settings.TALLER_DOCKER_URL or None,
    )


def _services_config() -> ServicesConfig:
    """Per-run services from settings: local servers by default, dedicated ones in production."""
    return ServicesConfig(
        postgres=PostgresConfig(admin_dsn=settings.TALLER_RUNS_POSTGRES_DSN or None),
        rabbitmq=RabbitConfig(
            api_url=settings.TALLER_RUNS_RABBITMQ_API,
            admin_user=settings.TALLER_RUNS_RABBITMQ_USER,
            admin_password=settings.TALLER_RUNS_RABBITMQ_PASSWORD,
            amqp_host=settings.TALLER_RUNS_RABBITMQ_HOST,
        ),
        mongo=MongoConfig(uri=settings.TALLER_RUNS_MONGODB_URI or None),
        kafka=KafkaConfig(
            broker_bin=settings.TALLER_RUNS_KAFKA_BROKER,
            memory_limit_mb=settings.TALLER_RUNS_KAFKA_MEMORY_MB,
        ),
    )


def spec_for(version: GraderVersion, *, show_hidden: bool = False) -> ExerciseSpec:
    spec = spec_from_run(version.exercise.slug, version.run_spec, version.suite_files)
    return replace(spec, show_hidden=show_hidden)


def grade_files(
    spec: ExerciseSpec,
    files: Mapping[str, str],
    on_events: OnEvents | None = None,
    on_verdict: OnVerdict | None = None,
) -> Results:
    """Grade text files (as stored) against an exercise spec; never raises for the student."""
    encoded = {path: text.encode("utf-8") for path, text in files.items()}
    return grade(spec, encoded, runner_config(), on_events, on_verdict=on_verdict)
