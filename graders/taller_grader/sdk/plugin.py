"""The pytest plugin every grader suite runs under (`-p taller_grader.sdk.plugin`).

It numbers the tests in the order the suite defines them, hidden ones after every visible
one (the order they run in), reads their points and visibility from markers, reports
each test's outcome the moment it finishes (one JSON line on the events pipe, in the
shape of the results contract), and gives suites their fixtures: the student's
programs, an HTTP client on the run's network, the run's environment.

    @pytest.mark.points(2)      # default 1
    @pytest.mark.hidden         # students see its number and score, nothing else
    def test_creates_a_task(http):
        '''POST /api/tareas crea una tarea
        en: POST /api/tareas creates a task
        '''

The docstring's first line names the test (in Spanish); a line starting with "en:"
gives its English name.

It also tells the runner when each test starts (so the programs' output is attributed
to the test that caused it) and attaches a failed test's HTTP exchanges and the
standard check that failed (docs/results.md).
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taller_grader.results import Check, Exchange, TestResult, TestStatus, Visibility
from taller_grader.sdk.control import ENV_CONTROL, ControlClient, ControlError
from taller_grader.sdk.http import CheckFailed, HttpClient, recorder

ENV_EVENTS_FD = "TALLER_EVENTS_FD"
ENV_RUN_INFO = "TALLER_RUN_INFO"
# Modules a warm suite interpreter imports ahead besides pytest's (comma-separated).
ENV_PRELOAD = "TALLER_SUITE_PRELOAD"
_OUTPUT_LIMIT = 4000


@dataclass
class _Meta:
    number: str
    name: str
    max_score: float
    visibility: Visibility
    name_en: str = ""
    failure: str | None = None
    check: Check | None = None
    finished: bool = False


class _Reporter:
    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.meta: dict[str, _Meta] = {}
        self.control: ControlClient | None = None

    def emit(self, event: dict[str, Any]) -> None:
        if self.fd is None:
            return
        data = (json.dumps(event, ensure_ascii=False) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]


_reporter = _Reporter(None)


def _test_names(item: pytest.Item) -> tuple[str, str]:
    """The test's name in Spanish (the docstring's first line) and in English (a line
    "en: ..." of the docstring; empty when the suite gives none)."""
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    lines = [line.strip() for line in (doc or "").strip().splitlines()]
    name = lines[0] if lines and lines[0] else item.name.removeprefix("test_").replace("_", " ")
    name_en = next((line[3:].strip() for line in lines[1:] if line.startswith("en:")), "")
    params = getattr(item, "callspec", None)
    if params is not None:
        name = name.format(**params.params) if "{" in name else name
        name_en = name_en.format(**params.params) if "{" in name_en else name_en
    return name, name_en


def _secrets() -> dict[str, str]:
    """The run's secret values by name, so recorded exchanges can leave them out."""
    path = os.environ.get(ENV_RUN_INFO)
    if not path:
        return {}
    try:
        info = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    env = info.get("env", {})
    return {name: str(env[name]) for name in info.get("secrets", []) if env.get(name)}


def _failure_message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    exc = excinfo.value
    if isinstance(exc, ControlError):
        return str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc)
        # With `assert cond, "message"` pytest appends its own rewrite of the condition;
        # the student needs only the message the grader wrote.
        head, sep, _ = text.partition("\nassert ")
        text = head if sep and head.strip() else text
        return text.strip() or "la comprobación falló"
    return f"{exc.__class__.__name__}: {exc}"


# A frame of pytest's short report: "path:line: in function", then indented source.
_FRAME = re.compile(r"^(?P<path>\S.*?):\d+: in |^<frozen ")


def _suite_frames_only(text: str, root: str) -> str:
    """pytest's report without the frames of pytest's and Python's own machinery.

    What is left names the suite's file and line and the message, as the instructor
    wrote them; a frame from elsewhere (importlib, pytest's rewriting) only hides them.
    """
    kept: list[str] = []
    keep = True
    for line in text.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            path = frame.group("path") or "<"
            keep = not path.startswith(("/", "<")) or path.startswith(root + "/")
            if keep and not path.startswith("/"):
                line = f"{root}/{line}"  # named from the suite's root, as in the rest
        elif not line.startswith(" "):
            keep = True
        if keep:
            kept.append(line)
    return "\n".join(kept).strip()


def _report_suite_error(where: str, text: str, root: str) -> None:
    """For the instructor only (never the student): pytest's report of a broken suite."""
    _reporter.emit(
        {
            "event": "suite-error",
            "where": where,
            "output": _suite_frames_only(text, root)[-_OUTPUT_LIMIT:],
        }
    )


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A syntax error, a failed import, a conftest that raises: the suite cannot run.
    if report.failed:
        _report_suite_error(report.nodeid, report.longreprtext, _root())


def _root() -> str:
    return str(Path.cwd())


def pytest_configure(config: pytest.Config) -> None:
    global _reporter
    config.addinivalue_line("markers", "points(n): how many points the test is worth")
    config.addinivalue_line("markers", "hidden: students see the name and score only")
    fd = os.environ.get(ENV_EVENTS_FD)
    _reporter = _Reporter(int(fd) if fd else None)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Hidden tests run after every visible one, in the suite's order otherwise: a server
    # keeps state between tests, so a program could repeat a hidden test's input in a
    # later visible test's response or output, which students read.
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("hidden") is not None)
    described = []
    for number, item in enumerate(items, start=1):
        marker = item.get_closest_marker("points")
        points = float(marker.args[0]) if marker and marker.args else 1.0
        visibility = Visibility.HIDDEN if item.get_closest_marker("hidden") else Visibility.VISIBLE
        name, name_en = _test_names(item)
        meta = _Meta(str(number), name, points, visibility, name_en=name_en)
        _reporter.meta[item.nodeid] = meta
        described.append(
            {
                "number": meta.number,
                "name": meta.name,
                "max_score": meta.max_score,
                "visibility": meta.visibility.value,
                **({"name_en": meta.name_en} if meta.name_en else {}),
            }
        )
    _reporter.emit({"event": "collected", "tests": described})


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before the first test: the student's servers must be up, or nothing can be graded."""
    if not os.environ.get(ENV_CONTROL) or session.config.option.collectonly:
        return
    recorder.secrets = _secrets()
    client = ControlClient()
    try:
        client.call("ready")
    except ControlError as exc:
        client.close()
        _reporter.emit({"event": "startup-failed", "output": str(exc)})
        pytest.exit("the student's program did not start", returncode=3)
    # Kept open: it marks each test's start.
    _reporter.control = client


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    meta = _reporter.meta.get(nodeid)
    recorder.reset()
    if meta is None or _reporter.control is None:
        return
    # Before the test's first request: what the programs write from now on is its own.
    _reporter.control.call("test-start", test=meta.number)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _reporter.control is not None:
        _reporter.control.close()
        _reporter.control = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    meta = _reporter.meta.get(item.nodeid)
    if meta is None:
        return
    if report.failed and meta.failure is None and call.excinfo is not None:
        message = _failure_message(call.excinfo)
        if call.when != "call":
            message = f"(antes de que la prueba pudiera empezar) {message}"
            if not isinstance(call.excinfo.value, ControlError | AssertionError):
                # A fixture that raises is the grader's bug; one whose check fails (or
                # whose program would not start) is about the student's program.
                short = item._repr_failure_py(call.excinfo, style="short")
                _report_suite_error(item.nodeid, str(short), _root())
        meta.failure = message[:_OUTPUT_LIMIT]
        if isinstance(call.excinfo.value, CheckFailed):
            meta.check = call.excinfo.value.check
    elif report.skipped and meta.failure is None:
        meta.failure = "esta prueba no se ejecutó"
    if call.when == "teardown" and not meta.finished:
        meta.finished = True
        passed = meta.failure is None
        # A failed test's exchanges only: what a student needs to act on, and documents
        # stay small (a passing suite of 21 tests would otherwise carry ~100 of them).
        exchanges = recorder.take()
        result = TestResult(
            number=meta.number,
            name=meta.name,
            name_en=meta.name_en,
            score=meta.max_score if passed else 0.0,
            max_score=meta.max_score,
            status=TestStatus.PASSED if passed else TestStatus.FAILED,
            output=meta.failure or "",
            visibility=meta.visibility,
            check=None if passed else meta.check,
            exchanges=() if passed else exchanges,
        )
        _reporter.emit({"event": "test", "test": result.to_dict()})


# Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def run_info() -> dict[str, Any]:
    """What the runner tells the suite: programs, ports, the env given to the student."""
    path = os.environ.get(ENV_RUN_INFO)
    if not path:
        raise RuntimeError("not running under the Taller runner (no TALLER_RUN_INFO)")
    info: dict[str, Any] = json.loads(Path(path).read_text())
    return info


@pytest.fixture(scope="session")
def run_env(run_info: dict[str, Any]) -> dict[str, str]:
    """The environment the student's programs got (e.g. JWT_SECRET, API_KEY)."""
    return dict(run_info.get("env", {}))


@pytest.fixture(scope="session")
def control() -> Iterator[ControlClient]:
    client = ControlClient()
    yield client
    client.close()


class Program:
    """A student program the suite can start, stop, signal and inspect."""

    def __init__(self, control: ControlClient, name: str, port: int | None) -> None:
        self._control = control
        self.name = name
        self.port = port

    def start(self) -> None:
        """Start it and wait until it accepts connections (if it has a port)."""
        self._control.call("start", name=self.name)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 5.0) -> dict[str, Any]:
        return self._control.call("stop", name=self.name, signum=int(signum), timeout=timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def signal(self, signum: int) -> None:
        self._control.call("signal", name=self.name, signum=int(signum))

    def wait(self, timeout: float) -> dict[str, Any] | None:
        """How it exited, or None if it is still running after `timeout` seconds."""
        answer = self._control.call("wait", name=self.name, timeout=timeout)
        exit_info: dict[str, Any] | None = answer.get("exit")
        return exit_info

    @property
    def running(self) -> bool:
        return bool(self._control.call("status", name=self.name)["running"])

    @property
    def pid(self) -> int | None:
        """The main process's pid as the program itself sees it (process.pid)."""
        pid: int | None = self._control.call("status", name=self.name).get("pid")
        return pid

    def processes(self) -> list[int]:
        """Pids (as the program sees them) of every live process the program started."""
        return list(self._control.call("processes", name=self.name)["pids"])

    def output(self) -> tuple[str, str]:
        answer = self._control.call("output", name=self.name)
        return answer["stdout"], answer["stderr"]

    def run(self, timeout: float = 10.0) -> dict[str, Any]:
        """For scripts: start, wait for the exit, return {exit, stdout, stderr}."""
        return self._control.call("run", name=self.name, timeout=timeout)


@pytest.fixture(scope="session")
def programs(run_info: dict[str, Any], control: ControlClient) -> dict[str, Program]:
    return {
        name: Program(control, name, spec.get("port"))
        for name, spec in run_info.get("programs", {}).items()
    }


@pytest.fixture(scope="session")
def program(programs: dict[str, Program]) -> Program:
    """The exercise's first program (usually its only server)."""
    return next(iter(programs.values()))


@pytest.fixture
def http(program: Program) -> HttpClient:
    """An HTTP client aimed at the first program's port on the run's loopback."""
    return HttpClient(port=program.port or int(os.environ.get("PORT", "3000")))


@pytest.fixture
def http_to() -> Callable[[int], HttpClient]:
    """HTTP clients for other ports (e.g. the second microservice)."""
    return lambda port: HttpClient(port=port)


@pytest.fixture
def pg(run_env: dict[str, str]) -> Iterator[Any]:
    """A psycopg connection to the run's own PostgreSQL database (autocommit)."""
    import psycopg

    url = run_env.get("DATABASE_URL")
    if not url:
        raise RuntimeError("this exercise has no PostgreSQL service (run.services)")
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        yield conn


@pytest.fixture
def mongo(run_env: dict[str, str]) -> Iterator[Any]:
    """The run's own MongoDB database (pymongo)."""
    from pymongo import MongoClient

    uri = run_env.get("MONGODB_URI")
    if not uri:
        raise RuntimeError("this exercise has no MongoDB service (run.services)")
    client: Any = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        yield client.get_default_database()
    finally:
        client.close()


class AmqpQueue:
    """Reads messages from one queue of the run's own RabbitMQ virtual host."""

    def __init__(self, url: str) -> None:
        from urllib.parse import unquote, urlsplit

        import amqp

        parts = urlsplit(url)
        self._conn = amqp.Connection(
            f"{parts.hostname}:{parts.port or 5672}",
            userid=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            virtual_host=unquote(parts.path.lstrip("/")) or "/",
            connect_timeout=5,
        )
        self._conn.connect()
        self._channel = self._conn.channel()

    def get(self, queue: str, timeout: float = 5.0) -> Any:
        """The next message's body decoded as JSON, or None if none came in time."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            message = self._channel.basic_get(queue, no_ack=True)
            if message is not None:
                raw = message.body
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                _note(f"AMQP: la cola {queue} entregó un mensaje: {text[:500]}")
                return json.loads(message.body)
            if time.monotonic() >= deadline:
                _note(f"AMQP: ningún mensaje llegó a la cola {queue} en {timeout:g} s")
                return None
            time.sleep(0.05)

    def drain(self, queue: str) -> int:
        """Throw away what is waiting in `queue`; how many messages that was."""
        count = 0
        while self._channel.basic_get(queue, no_ack=True) is not None:
            count += 1
        return count

    def exists(self, queue: str) -> bool:
        import amqp

        channel = self._conn.channel()
        try:
            channel.queue_declare(queue, passive=True)
        except amqp.exceptions.NotFound:
            return False
        channel.close()
        return True

    def is_durable(self, queue: str) -> bool:
        """Whether an existing queue is durable (declaring it durable is refused if not)."""
        import amqp

        channel = self._conn.channel()
        try:
            channel.queue_declare(queue, durable=True, auto_delete=False)
        except amqp.exceptions.PreconditionFailed:
            return False
        channel.close()
        return True

    def close(self) -> None:
        self._conn.close()


def _note(description: str) -> None:
    """An exchange over another protocol than HTTP, recorded as a plain description."""
    recorder.exchanges.append(Exchange(description=description))


@pytest.fixture
def amqp_queue(run_env: dict[str, str]) -> Iterator[AmqpQueue]:
    """`amqp_queue.get("pedidos.creados")`: a message the student's program published."""
    url = run_env.get("AMQP_URL")
    if not url:
        raise RuntimeError("this exercise has no RabbitMQ service (run.services)")
    queue = AmqpQueue(url)
    yield queue
    queue.close()
