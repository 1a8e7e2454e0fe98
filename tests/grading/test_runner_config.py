"""The runner's configuration: read from settings once per process, again when a test
changes them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from taller.grading.runner import runner_config


def test_a_setting_changed_by_a_test_is_what_the_next_run_reads(settings) -> None:
    runner_config()  # as after a first run
    settings.TALLER_SANDBOX_BACKEND = "docker"
    settings.TALLER_DOCKER_URL = "unix:///run/other-engine.sock"
    config = runner_config()
    assert (config.sandbox_backend, config.docker_url) == (
        "docker",
        "unix:///run/other-engine.sock",
    )


def test_a_sandbox_backend_that_does_not_exist_is_refused_naming_it(settings) -> None:
    runner_config()
    settings.TALLER_SANDBOX_BACKEND = "chroot"
    with pytest.raises(ImproperlyConfigured, match="chroot"):
        runner_config()


def test_every_run_meets_the_same_per_run_services() -> None:
    """They keep state between runs (a local cluster, what they provisioned)."""
    assert runner_config().services is runner_config().services
