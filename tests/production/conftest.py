"""The production path, for real: PostgreSQL, a Redis of the tests' own, gunicorn with the
production settings, Celery workers and beat as separate processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from .stack import REPO, RedisServer, Stack, base_env

pytestmark = pytest.mark.production


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/services-up.sh installs it)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, **base_env("postgres://unused/unused", "redis://unused", root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    return root


@pytest.fixture
def stack(
    transactional_db: None,
    redis_server: RedisServer,
    static_root: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    settings: Any,
) -> Iterator[Stack]:
    # Users made here must sign in on a server with the production hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@"
        f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/"
        f"{settings_dict['NAME']}"
    )
    if connection.vendor != "postgresql":
        pytest.skip("the production path runs on PostgreSQL (set DATABASE_URL)")
    redis_server.flush()
    running = Stack(env=base_env(database_url, redis_server.url, static_root), logs=tmp_path)
    yield running
    running.stop_all()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"----- {log.name} -----\n{log.read_text(errors='replace')[-4000:]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
