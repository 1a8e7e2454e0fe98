"""The one bridge from Django to the runner: settings in, `taller_grader` types out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from taller.courses.models import GraderVersion
from taller_grader.results import Results
from taller_grader.runner import (
    ExerciseSpec,
    OnEvents,
    OnSuiteReport,
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


class Grade(Protocol):
    """`taller_grader.runner.grade`'s signature."""

    def __call__(
        self,
        spec: ExerciseSpec,
        files: Mapping[str, bytes],
        config: RunnerConfig,
        on_events: OnEvents | None = None,
        *,
        on_suite_report: OnSuiteReport | None = None,
        on_verdict: OnVerdict | None = None,
    ) -> Results: ...


# What grades a run: the sandbox, the student's programs and the grader suite. The one
# seam between them and the state machine: the state machine's tests put a scripted
# runner here (tests/grading/fake_runner.py), so fencing, takeovers and retries are
# tested without root, bubblewrap or Node; the end-to-end tests keep this one.
grade_run: Grade = grade


# Once per process: the services keep state between runs (a local cluster, the runs
# they provisioned), so each run must meet the same ones.
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


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # Only tests change settings at run time (pytest-django's `settings`, override_settings):
    # the next run reads theirs. Any TALLER_ one, not a list that would fall behind
    # runner_config's.
    if setting.startswith("TALLER_"):
        runner_config.cache_clear()


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
    return grade_run(spec, encoded, runner_config(), on_events, on_verdict=on_verdict)
