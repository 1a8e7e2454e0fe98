"""A real browser (Debian's Chromium, driven by Playwright) against the production stack:
gunicorn with the production settings, a Celery worker running the bwrap sandbox, a Redis
of the tests' own, PostgreSQL. Screenshots of every key step are kept as artifacts."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from tests.production import conftest as production
from tests.production.stack import REPO, Stack

# The production stack's fixtures (a Redis of our own, collected static files, the processes)
# and its hook that prints the processes' logs when a test fails.
redis_server = production.redis_server
static_root = production.static_root
stack = production.stack
pytest_runtest_makereport = production.pytest_runtest_makereport

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; scripts/chromium.sh installs it when it can."""
    result = subprocess.run(
        [str(REPO / "scripts" / "chromium.sh")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"no Chromium: {result.stderr.strip()}")
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where the screenshots go: $TALLER_ARTIFACTS/browser, else var/artifacts/browser."""
    base = Path(os.environ.get("TALLER_ARTIFACTS") or REPO / "var" / "artifacts")
    path = base / "browser"
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {path}")
    return path


@pytest.fixture
def playwright_browser(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Chromium for one test. Per test, not per session: while Playwright's sync API is
    running, its event loop is current in this thread, and Django refuses every database
    query made from it (the test's factories and assertions, the flush after the test)
    as "async unsafe". They are plain synchronous queries, so the refusal is lifted, and
    only for as long as the browser lives."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Two cores shared by many: a page may take a few seconds to answer under load.
    sync_api.expect.set_options(timeout=10_000)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
        # Connections opened meanwhile are kept per context, not per thread (a loop was
        # running): close them while that is still so, or they outlive the test database.
        connections.close_all()


@dataclass
class Shots:
    """Numbered screenshots of one flow, at desktop and phone width."""

    directory: Path
    flow: str
    taken: list[Path] = field(default_factory=list)

    def __call__(
        self, page: Any, step: str, *, full_page: bool = True, at: Any | None = None
    ) -> None:
        """Screenshots of the whole page, or of the viewport scrolled to `at` (a locator)."""
        number = len({p.name.split("-", 1)[0] for p in self.taken}) + 1
        stem = f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}"
        original = page.viewport_size
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            if at is not None:
                at.scroll_into_view_if_needed()
            elif full_page:
                # From the top: sticky parts (the header, the statement) would otherwise be
                # drawn where the scrolled viewport had them.
                page.evaluate("() => window.scrollTo(0, 0)")
            path = self.directory / self.flow / f"{stem}.{label}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=full_page, animations="disabled")
            self.taken.append(path)
        page.set_viewport_size(original)


@pytest.fixture
def shots(artifacts_dir: Path, request: pytest.FixtureRequest) -> Shots:
    flow = request.node.name.removeprefix("test_")
    for old in (artifacts_dir / flow).glob("*.png"):
        old.unlink()
    return Shots(artifacts_dir, flow)


@pytest.fixture
def live(stack: Stack) -> Stack:
    """The course, served by gunicorn with a real worker for submissions and validations."""
    call_command("sync_exercises", verbosity=0)
    stack.start_worker("w1", queues="grading,heavy")
    stack.start_web()
    return stack


@pytest.fixture
def new_page(playwright_browser: Any, live: Stack) -> Iterator[Any]:
    """A fresh browser context (its own cookies) per call, at desktop size."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        # localhost, not 127.0.0.1: the production cookies are Secure, and Chromium
        # treats http://localhost (only) as a secure context that may keep them.
        context = playwright_browser.new_context(
            base_url=f"http://localhost:{live.port}",
            viewport=DESKTOP,
            locale="es-ES",
            **options,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/entrar/")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(re.compile(r"^(?!.*/entrar/).*$"))
