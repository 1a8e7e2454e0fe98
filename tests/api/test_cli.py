"""The `taller` console script end to end: a real Daphne serving the test database (the
embedded settings: grading inside the server, the in-memory channel layer), the client
as a subprocess, a submission followed over the WebSocket to its verdict."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import PASSWORD, UserFactory
from tests.production.stack import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("bwrap") is None or not (REPO / "runtime" / "node_modules").is_dir(),
        reason="grading needs bubblewrap and runtime/node_modules",
    ),
]


@pytest.fixture
def server(tmp_path: Path, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("the server shares the test database: PostgreSQL (set DATABASE_URL)")
    # Users made here must sign in on a server with the default (Argon2) hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    call_command("sync_exercises", verbosity=0)
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "taller.settings.local",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DEBUG": "False",
        "TALLER_GRADING": "inprocess",
        "TALLER_HOME": str(REPO),
        "REDIS_URL": "",
    }
    log = (tmp_path / "daphne.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "taller.asgi:application"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 30, "daphne")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        print((tmp_path / "daphne.log").read_text(errors="replace")[-3000:])


def taller(
    config: Path, *args: str, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "taller"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TALLER_CONFIG_DIR": str(config)},
        check=False,
    )


def test_login_exercises_and_a_submission_followed_to_its_verdict(
    server: str, tmp_path: Path
) -> None:
    UserFactory(username="ana")
    config = tmp_path / "config"

    login = taller(
        config, "login", "--url", server, "--username", "ana", "--password-stdin", stdin=PASSWORD
    )
    assert login.returncode == 0, login.stderr
    credentials = config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert json.loads(credentials.read_text())["url"] == server

    exercises = taller(config, "exercises")
    assert exercises.returncode == 0, exercises.stderr
    assert "rest-api" in exercises.stdout and "Una API REST de tareas" in exercises.stdout
    assert "A REST API for tasks" in taller(config, "exercises", "--lang", "en").stdout

    solution = REPO / "exercises" / "rest-api" / "solution"
    passed = taller(config, "submit", "rest-api", str(solution))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "sin conexión en vivo" not in passed.stderr  # followed over the WebSocket
    assert passed.stdout.count("✓") == 21 and "✗" not in passed.stdout
    assert "Resultado: passed" in passed.stdout

    wrong = next((REPO / "exercises" / "rest-api" / "wrong").iterdir())
    failed = taller(config, "submit", "rest-api", str(wrong))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "✗" in failed.stdout and "Resultado: passed" not in failed.stdout
    # Each failed test: its check, the request and answer, and how to send it again.
    assert "Para repetirla con tu servidor en marcha:" in failed.stdout
    assert "curl -i " in failed.stdout and "http://127.0.0.1:3000/api/" in failed.stdout


def test_a_submission_that_logs_every_request_shows_no_hidden_tests_lines(
    server: str, tmp_path: Path
) -> None:
    from taller.submissions.models import Submission
    from tests.grading.test_feedback_leak import logging_solution

    UserFactory(username="ana")
    config = tmp_path / "config"
    login = taller(config, "login", "--url", server, "--username", "ana", "--password-stdin",
                   stdin=PASSWORD)  # fmt: skip
    assert login.returncode == 0, login.stderr
    folder = tmp_path / "logs"
    folder.mkdir()

    def read(variant: str) -> dict[str, str]:
        base = REPO / "exercises" / "rest-api" / variant
        return {p.name: p.read_text() for p in base.iterdir() if p.is_file()}

    for name, text in logging_solution(read).items():
        (folder / name).write_text(text)
    run = taller(config, "submit", "rest-api", str(folder))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "prueba oculta" in run.stdout
    # Staff read the full document: every hidden test's lines are there, under it.
    results = Submission.objects.get(student__username="ana").results
    hidden = [t for t in results["tests"] if t["visibility"] == "hidden"]
    lines = [line for t in hidden for line in t.get("stdout", "").splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert line not in run.stdout and line not in run.stderr


def test_an_expired_access_token_is_refreshed_and_the_rotated_refresh_saved(
    server: str, tmp_path: Path
) -> None:
    UserFactory(username="ana")
    config = tmp_path / "config"
    login = taller(config, "login", "--url", server, "--username", "ana", "--password-stdin",
                   stdin=PASSWORD)  # fmt: skip
    assert login.returncode == 0, login.stderr
    path = config / "credentials.json"
    saved = json.loads(path.read_text())
    # An access token whose `exp` is long past: the client must refresh before using it.
    saved["access"] = "e30.eyJleHAiOiAxfQ.x"
    path.write_text(json.dumps(saved))
    whoami = taller(config, "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.startswith("ana (student)")
    assert json.loads(path.read_text())["refresh"] != saved["refresh"]

    assert taller(config, "logout").returncode == 0
    assert not path.exists()
    assert taller(config, "exercises").returncode == 2  # not signed in: a usage error


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config"
    assert taller(config, "submit").returncode == 2
    assert taller(config, "submit", "rest-api", str(tmp_path / "no-existe")).returncode == 2
