"""One graded run: sandbox + per-run services + the grader suite → a results document.

This is the single function the platform calls (`grade`), from the Celery task, from
`manage.py grade` and from `check_graders` alike. It never imports Django.

The suite runs as its own process, unprivileged, in its own pid namespace and file
system view, but inside the run's network namespace, so it reaches the student's
servers on 127.0.0.1 and nothing else. It asks the runner to start, stop and signal
programs over a control socket, and reports each test the moment it finishes on a pipe.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from taller_grader import build_cache
from taller_grader import sandbox as sandbox_mod
from taller_grader.manifest import SERVER_PORT, STARTUP_SECONDS, TIME_LIMIT_SECONDS, RunSpec
from taller_grader.results import (
    ContractError,
    Reason,
    Results,
    RunStatus,
    TestResult,
    TestStatus,
    Visibility,
)
from taller_grader.sandbox import files as sandbox_files
from taller_grader.sandbox import netns
from taller_grader.sandbox.api import (
    Limits,
    Program,
    Sandbox,
    SandboxError,
    ServiceGrant,
    SubmissionRejected,
)
from taller_grader.sandbox.services.base import RunService
from taller_grader.sandbox.shell import POOL as shell_pool
from taller_grader.sdk.control import ControlError, ControlServer
from taller_grader.suite import (
    SuiteProcess,
    cpu_seconds_for,
    new_io_dir,
    preload_for,
    rewritten_pycs,
)

OUTPUT_LIMIT = 64 * 1024  # per stream in the results document
TEST_OUTPUT_LIMIT = 8 * 1024  # per stream of one test
logger = logging.getLogger(__name__)
INJECT_DIR = ".taller"
# How often the runner tries a starting program's port. A server is ready ~150 ms after
# its start here and the suite waits for it: every 50 ms cost each run 25 ms on average.
READY_POLL_SECONDS = 0.005
# How often the suite's events are handed over while it runs. Each hand-over is a write
# to the platform's database and a push to the student's page, ~3 ms of CPU on 2 cores
# the suite needs; rest-api's suite reports a test every ~10 ms, so handing each over
# made ~20 of them a run. The student's page shows the tests at most this much later.
EVENTS_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class ProgramSpec:
    """A program of the exercise: how to start it and where it listens."""

    name: str
    command: tuple[str, ...]
    port: int | None = SERVER_PORT
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "."
    autostart: bool = True


@dataclass(frozen=True)
class ExerciseSpec:
    """Everything the runner needs to know about an exercise (from its manifest's `[run]`
    table: `spec_from_run`; the defaults are the manifest's)."""

    slug: str
    programs: tuple[ProgramSpec, ...]
    suite_files: Mapping[str, str]
    limits: Limits = field(default_factory=Limits)
    time_limit_seconds: float = TIME_LIMIT_SECONDS
    startup_seconds: float = STARTUP_SECONDS
    services: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # Env vars given a fresh random value each run (JWT_SECRET, API_KEY, ...).
    secrets: tuple[str, ...] = ()
    show_hidden: bool = False
    # Files the grader puts beside the student's (graders/<slug>/inject/), readable in
    # the sandbox under .taller/ — e.g. a --require hook that instruments an API.
    inject_files: Mapping[str, str] = field(default_factory=dict)
    # A directory the exercise's build fills (`[run] build_cache`, ssr's ".next/cache"),
    # copied into every run from a build of `cache_seed` (graders/<slug>/cache-seed/),
    # made once by the platform: see build_cache.py.
    build_cache: str | None = None
    cache_seed: Mapping[str, str] = field(default_factory=dict)


class ServiceProvider:
    """Per-run services (PostgreSQL, RabbitMQ, MongoDB) by name; none by default."""

    def __init__(self, services: Mapping[str, RunService] | None = None) -> None:
        self.services = dict(services or {})

    def provision(self, name: str, run_id: str, netns_path: str) -> ServiceGrant:
        service = self.services.get(name)
        if service is None:
            raise SandboxError(f"no per-run service '{name}' is configured on this host")
        return service.provision(run_id, netns_path)

    def release(self, name: str, run_id: str) -> None:
        service = self.services.get(name)
        if service is not None:
            service.release(run_id)


@dataclass(frozen=True)
class RunnerConfig:
    runtime_dir: Path
    state_dir: Path | None = None
    services: ServiceProvider = field(default_factory=ServiceProvider)
    python: str = sys.executable
    # "bwrap" (default) or "docker": containers through a Docker Engine API at docker_url.
    sandbox_backend: Literal["bwrap", "docker"] = "bwrap"
    docker_url: str | None = None


@dataclass(frozen=True)
class Collected:
    """The suite's tests are known (names, points); none has run yet."""

    tests: tuple[TestResult, ...]


@dataclass(frozen=True)
class TestFinished:
    __test__ = False

    test: TestResult


Event = Collected | TestFinished
# Called with the events that arrived since its last call, in order: the first at once,
# then at most every EVENTS_INTERVAL_SECONDS, and the last ones when the suite ends (so
# a callback that writes to a database writes a few times a run, not once per test).
OnEvents = Callable[[Sequence[Event]], None]
# Called once, after the run, with pytest's own report of a broken suite (a syntax or
# import error, a fixture that raised): for the grader's author, never for the student.
OnSuiteReport = Callable[[str], None]
# Called with the verdict before the run's teardown (killing and reaping the suite and
# the programs, removing cgroups, namespaces and mounts), which takes tens of ms and
# need not delay the verdict.
OnVerdict = Callable[[Results], None]


class _InternalError(Exception):
    """The platform failed; the run is retried and the student loses nothing."""


def grade(
    spec: ExerciseSpec,
    files: Mapping[str, bytes],
    config: RunnerConfig,
    on_events: OnEvents | None = None,
    *,
    on_suite_report: OnSuiteReport | None = None,
    on_verdict: OnVerdict | None = None,
) -> Results:
    """Grade `files` against `spec`'s suite. Never raises for the student's faults.

    `on_verdict`, if given, gets the results before the run is torn down; whatever it
    raises is raised here once the teardown is done.
    """
    started = time.monotonic()
    run = _Run(spec, files, config, on_events or (lambda events: None))
    try:
        try:
            try:
                results = run.execute()
            finally:
                report = run.suite_report()
                if report and on_suite_report is not None:
                    on_suite_report(report)
        except SubmissionRejected as exc:
            results = Results.ungraded(
                spec.slug,
                RunStatus.REJECTED,
                exc.reason,
                reason=Reason(exc.code, exc.params) if exc.code else None,
            )
        except (_InternalError, SandboxError, ContractError, OSError):
            # What failed (paths, hosts) is for the staff: logged, named by the run's id;
            # the document says only that the platform failed.
            logger.exception("%s: run %s: the platform failed", spec.slug, run.run_id)
            results = Results.platform_failed(
                spec.slug, execution_time=time.monotonic() - started, tests=run.collected
            )
        if on_verdict is not None:
            on_verdict(results)
        return results
    finally:
        run.cleanup()


class _Run:
    def __init__(
        self,
        spec: ExerciseSpec,
        files: Mapping[str, bytes],
        config: RunnerConfig,
        on_events: OnEvents,
    ) -> None:
        self.spec = spec
        self.files = files
        self.config = config
        self.on_events = on_events
        self.run_id = secrets.token_hex(6)
        self.env = {**spec.env, **{name: secrets.token_urlsafe(24) for name in spec.secrets}}
        self.sandbox: Sandbox | None = None
        self.programs: dict[str, Program] = {}
        self.specs = {p.name: p for p in spec.programs}
        self.provisioned: list[str] = []
        self.control: ControlServer | None = None
        self.suite: SuiteProcess | None = None
        self.io_dir: Path | None = None
        self._suite_cpu = cpu_seconds_for(spec.time_limit_seconds)
        self.collected: tuple[TestResult, ...] = ()
        self.finished: dict[str, TestResult] = {}
        self.startup_failure: str | None = None
        self.suite_errors: list[str] = []
        self.suite_stderr = ""
        # Pytest's exit status as the suite reported it last on its events pipe.
        self.suite_exit: int | None = None
        self.started = time.monotonic()
        self._lock = threading.RLock()
        # Every program started, restarts included (a restart's output is kept too), and
        # where each one's output stood when each test started: (test number, sizes).
        self._started_programs: list[Program] = []
        self._marks: list[tuple[str, dict[int, tuple[int, int]]]] = []

    # The run -------------------------------------------------------------------------

    def execute(self) -> Results:
        reserved = [name for name in self.files if name.split("/", 1)[0] == INJECT_DIR]
        if reserved:
            raise sandbox_files.reject("reserved", name=reserved[0], folder=INJECT_DIR)
        inject = {
            f"{INJECT_DIR}/{name}": text.encode() for name, text in self.spec.inject_files.items()
        }
        files = {**self.files, **inject}
        # Before this run's sandbox: the first run of a grader version makes the cache in
        # a sandbox of its own (taking the pool's pre-built shell, which is then refilled).
        cache = build_cache.entries_for(self.spec, self.config, inject)
        # Making it is the platform's work, once, not this run's: its time starts now.
        self.started = time.monotonic()
        if self.config.sandbox_backend == "bwrap":
            # The next pre-built shell gets a suite interpreter started ahead, ready; with
            # the service clients this run's suite uses (likely the next one's too: a
            # wrong guess only costs that run the import).
            shell_pool.warmer = functools.partial(
                SuiteProcess.start_warm,
                python=self.config.python,
                preload=preload_for(self.spec.services),
            )
        self.sandbox = sandbox_mod.open_sandbox(
            files,
            self.spec.limits,
            runtime_dir=self.config.runtime_dir,
            run_id=self.run_id,
            state_dir=self.config.state_dir,
            backend=self.config.sandbox_backend,
            docker_url=self.config.docker_url,
        )
        build_cache.put(self.sandbox.workdir, self.spec, cache)
        warm = self.sandbox.take_warm()
        if (
            isinstance(warm, SuiteProcess)
            and warm.alive
            and warm.fits(self.config.python, self._suite_cpu)
        ):
            self.suite = warm
        elif warm is not None:
            warm.discard()
        self.io_dir = self.suite.io_dir if self.suite is not None else new_io_dir()
        for name in self.spec.services:
            grant = self.config.services.provision(name, self.run_id, self.sandbox.netns_path)
            self.provisioned.append(name)
            self.sandbox.add_grant(grant)
            self.env.update(grant.env)
        # Start the servers while the suite's interpreter boots: they need each other
        # only when the first test runs.
        for program_spec in self.spec.programs:
            if program_spec.autostart:
                self._start(program_spec.name)
        self._write_suite()
        self.control = ControlServer(self.io_dir / "control" / "sock", self._handle).start()
        timed_out = self._run_suite()
        return self._results(timed_out)

    def _results(self, timed_out: bool) -> Results:
        elapsed = time.monotonic() - self.started
        stdout, stderr, per_test = self._attributed_output()
        self.collected = tuple(
            replace(t, stdout=per_test[t.number][0], stderr=per_test[t.number][1])
            if t.number in per_test
            else t
            for t in self.collected
        )
        self.finished = {
            number: replace(t, stdout=per_test[number][0], stderr=per_test[number][1])
            if number in per_test
            else t
            for number, t in self.finished.items()
        }
        if self.control is not None and self.control.failure is not None:
            raise _InternalError(f"the runner failed: {self.control.failure!r}")
        if self.startup_failure is not None:
            return Results.ungraded(
                self.spec.slug,
                RunStatus.ERROR,
                self.startup_failure,
                execution_time=elapsed,
                stdout=stdout,
                stderr=stderr,
                tests=self.collected,
            )
        if timed_out:
            tests = [
                self.finished.get(t.number)
                or replace(
                    t,
                    score=0.0,
                    status=TestStatus.FAILED,
                    output="No llegó a ejecutarse: la corrección alcanzó su tiempo límite "
                    f"({self.spec.time_limit_seconds:g} s).",
                )
                for t in self.collected
            ]
            return Results.graded(
                self.spec.slug,
                tests,
                execution_time=elapsed,
                status=RunStatus.TIMEOUT,
                output=f"La corrección alcanzó su tiempo límite de "
                f"{self.spec.time_limit_seconds:g} s; las pruebas que terminaron conservan su "
                "resultado.",
                stdout=stdout,
                stderr=stderr,
            )
        assert self.suite is not None
        code = self.suite_exit if self.suite_exit is not None else self.suite.returncode
        if code not in (0, 1) or not self.collected:
            # For the staff only (logs, the author's report): a suite's traceback may show
            # hidden tests' inputs.
            assert self.io_dir is not None
            tail = (self.io_dir / "suite.stderr").read_bytes()[-4000:].decode(errors="replace")
            self.suite_stderr = tail
            logger.warning("%s: grader suite exited with code %s:\n%s", self.spec.slug, code, tail)
        if code not in (0, 1):
            raise _InternalError(f"the grader suite exited with code {code}")
        if not self.collected:
            raise _InternalError("the grader suite collected no tests")
        missing = [t.number for t in self.collected if t.number not in self.finished]
        if missing:
            raise _InternalError(f"the grader suite reported no result for tests {missing}")
        tests = [self.finished[t.number] for t in self.collected]
        failed = sum(not t.passed for t in tests)
        summary = (
            "Todas las pruebas pasaron."
            if not failed
            else f"Fallaron {failed} de {len(tests)} pruebas: lee abajo qué dice cada una."
        )
        return Results.graded(
            self.spec.slug,
            tests,
            execution_time=elapsed,
            output=summary,
            stdout=stdout,
            stderr=stderr,
        )

    # The suite process ---------------------------------------------------------------

    def _write_suite(self) -> None:
        assert self.io_dir is not None
        suite = self.io_dir / "suite"
        for name, text in self.spec.suite_files.items():
            path = suite / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for name, data in rewritten_pycs(self.spec.suite_files).items():
            path = suite / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        info = {
            "exercise": self.spec.slug,
            "env": self.env,
            "show_hidden": self.spec.show_hidden,
            # Names only: the SDK writes `$NAME` in a curl command instead of the value.
            "secrets": list(self.spec.secrets),
            "programs": {
                p.name: {"port": p.port, "command": list(p.command)} for p in self.spec.programs
            },
        }
        # In place: a warm suite's bwrap has bound this very inode.
        (self.io_dir / "run.json").write_text(json.dumps(info))

    def _run_suite(self) -> bool:
        """Run the suite, feeding its events through; True if the time limit was hit."""
        assert self.sandbox is not None and self.io_dir is not None
        if self.suite is None:
            self.suite = SuiteProcess.cold(
                self.sandbox, self.config.python, self._suite_cpu, self.io_dir
            )
        else:
            self.suite.go()
        deadline = self.started + self.spec.time_limit_seconds
        timed_out = False
        try:
            timed_out = self._pump(self.suite.events_r, deadline)
        finally:
            if timed_out:
                self._kill_suite()
            if self.suite_exit is None:
                try:
                    self.suite.wait(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    timed_out = True
                    self._kill_suite()
        return timed_out

    def _pump(self, fd: int, deadline: float) -> bool:
        buffer = b""
        pending: list[Event] = []
        handed_at = -EVENTS_INTERVAL_SECONDS

        def hand_over() -> None:
            nonlocal pending, handed_at
            if pending:
                handed_at = time.monotonic()
                events, pending = pending, []
                self.on_events(events)

        while True:
            now = time.monotonic()
            if now - handed_at >= EVENTS_INTERVAL_SECONDS:
                hand_over()
            remaining = deadline - now
            if remaining <= 0:
                hand_over()
                return True
            wait = remaining
            if pending:
                wait = min(wait, handed_at + EVENTS_INTERVAL_SECONDS - now)
            ready, _, _ = select.select([fd], [], [], max(wait, 0.0))
            if not ready:
                continue  # time to hand events over, or the deadline (checked above)
            chunk = os.read(fd, 65536)
            if not chunk:
                hand_over()
                return False
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                event = self._event(line)
                if event is not None:
                    pending.append(event)
            if self.suite_exit is not None:
                # Its last word: what it does while exiting is not the verdict's business.
                hand_over()
                return False

    def _event(self, line: bytes) -> Event | None:
        try:
            event = json.loads(line)
            kind = event["event"]
            if kind == "collected":
                self.collected = tuple(
                    TestResult(
                        number=str(t["number"]),
                        name=str(t["name"]),
                        name_en=str(t.get("name_en", "")),
                        score=0.0,
                        max_score=float(t["max_score"]),
                        status=TestStatus.FAILED,
                        visibility=Visibility(t["visibility"]),
                    )
                    for t in event["tests"]
                )
                return Collected(self.collected)
            if kind == "test":
                result = TestResult.from_dict(event["test"])
                known = {t.number: t for t in self.collected}
                if result.number not in known or result.number in self.finished:
                    raise ContractError(f"unexpected result for test {result.number}")
                if result.max_score != known[result.number].max_score:
                    raise ContractError(f"test {result.number} changed its points")
                own = self._test_output(result.number)
                if own is not None:
                    result = replace(result, stdout=own[0], stderr=own[1])
                self.finished[result.number] = result
                return TestFinished(result)
            if kind == "startup-failed":
                self.startup_failure = str(event["output"])
                return None
            if kind == "suite-error":
                self.suite_errors.append(str(event["output"]))
                return None
            if kind == "exit":
                self.suite_exit = int(event["code"])
                return None
            raise ContractError(f"unknown event {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            self._kill_suite()
            raise _InternalError(f"the grader suite sent a malformed event: {exc}") from None

    def _kill_suite(self) -> None:
        if self.suite is not None:
            self.suite.kill()

    # Programs, as the suite asks for them ----------------------------------------------

    def _start(self, name: str) -> Program:
        assert self.sandbox is not None
        spec = self.specs.get(name)
        if spec is None:
            raise ControlError(f"the exercise has no program named {name!r}")
        with self._lock:
            current = self.programs.get(name)
            if current is not None and current.running:
                return current
            env = {**self.env, **spec.env}
            if spec.port is not None:
                env["PORT"] = str(spec.port)
            program = self.sandbox.start(list(spec.command), env=env, cwd=spec.cwd, name=name)
            self.programs[name] = program
            self._started_programs.append(program)
            return program

    def _wait_ready(self, name: str, timeout: float) -> None:
        """Until the program listens on its port; a clear message for the student if not."""
        assert self.sandbox is not None
        spec = self.specs[name]
        program = self.programs.get(name) or self._start(name)
        if spec.port is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if netns.port_open(self.sandbox.netns_path, spec.port):
                return
            exit_info = program.wait(READY_POLL_SECONDS)
            if exit_info is not None:
                why = (
                    f"terminó con el código de salida {exit_info.exit_code}"
                    if exit_info.exit_code is not None
                    else f"fue detenido por la señal {exit_info.signal}"
                )
                if exit_info.reason:
                    why += f" ({_LIMIT_WORDS.get(exit_info.reason, exit_info.reason)})"
                raise ControlError(
                    f"`{' '.join(spec.command)}` {why} antes de aceptar conexiones en el "
                    f"puerto {spec.port}. Su salida está abajo."
                )
        if program.pids_limit_reached():
            # A fork loop: the hint about listen() would send the student the wrong way.
            raise ControlError(
                f"`{' '.join(spec.command)}` no aceptó conexiones en el puerto {spec.port} "
                f"en {timeout:g} s: alcanzó el límite de procesos de la ejecución "
                f"({self.spec.limits.pids}, hilos incluidos). ¿Crea procesos o hilos sin "
                "parar (un bucle de fork, child_process o cluster sin control)? Su salida "
                "está abajo."
            )
        raise ControlError(
            f"`{' '.join(spec.command)}` no aceptó conexiones en el puerto {spec.port} en "
            f"{timeout:g} s. ¿Llama a listen() con process.env.PORT ({spec.port})? "
            "Su salida está abajo."
        )

    def _handle(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op == "test-start":
            # Synchronous, so everything the programs wrote before the test began is
            # counted before its first request goes out.
            number = str(args["test"])
            with self._lock:
                sizes = {id(p): p.output_mark() for p in self._started_programs}
                self._marks.append((number, sizes))
            return {}
        if op == "ready":
            for spec in self.spec.programs:
                if spec.autostart:
                    self._wait_ready(spec.name, self.spec.startup_seconds)
            return {}
        if op == "pause-service":
            # Freeze one of the run's own services for a few seconds (the eventos grader:
            # does `pedidos` answer before the broker acknowledged?).
            service_name = str(args.get("service", ""))
            service = self.config.services.services.get(service_name)
            pause = getattr(service, "pause", None)
            if service_name not in self.provisioned or pause is None:
                raise ControlError(f"this run has no service {service_name!r} to pause")
            pause(self.run_id, float(args.get("seconds", 1)))
            return {}
        name = str(args.get("name", ""))
        if name not in self.specs:
            raise ControlError(f"the exercise has no program named {name!r}")
        if op == "start":
            self._start(name)
            self._wait_ready(name, self.spec.startup_seconds)
            return {}
        program = self.programs.get(name)
        if op == "status":
            running = program is not None and program.running
            return {"running": running, "pid": _ns_pid(program) if running else None}
        if op == "output":
            out = program.output() if program else None
            return {"stdout": out.stdout if out else "", "stderr": out.stderr if out else ""}
        if op == "run":
            program = self._start(name)
            exit_info = program.wait(float(args.get("timeout", 10)))
            if exit_info is None:
                program.kill()
            out = program.output()
            return {"exit": _exit_dict(exit_info), "stdout": out.stdout, "stderr": out.stderr}
        if program is None:
            raise ControlError(f"{name} has not been started")
        if op == "signal":
            program.signal(int(args["signum"]))
            return {}
        if op == "wait":
            return {"exit": _exit_dict(program.wait(float(args.get("timeout", 5))))}
        if op == "stop":
            if program.running:
                program.signal(int(args.get("signum", signal.SIGTERM)))
                if program.wait(float(args.get("timeout", 5))) is None:
                    program.kill()
            return {"exit": _exit_dict(program.wait(5))}
        if op == "processes":
            return {"pids": _ns_pids(program)}
        raise ControlError(f"unknown operation {op!r}")

    # Output and cleanup ----------------------------------------------------------------

    def suite_report(self) -> str:
        """pytest's reports of what broke in the suite, its files named as in graders/."""
        parts = list(dict.fromkeys(self.suite_errors))
        if self.suite_stderr.strip():
            parts.append(self.suite_stderr.strip())
        text = "\n\n".join(parts)
        return text.replace("/suite/", f"graders/{self.spec.slug}/")

    def _slices(
        self, start: dict[int, tuple[int, int]] | None, end: dict[int, tuple[int, int]] | None
    ) -> tuple[str, str]:
        """What every program wrote between two marks (None: the beginning, the end)."""
        outs: list[str] = []
        errs: list[str] = []
        several = len({p.name for p in self._started_programs}) > 1
        for program in self._started_programs:
            captured = program.captured()
            prefix = f"[{program.name}]\n" if several else ""
            for stream, into in ((0, outs), (1, errs)):
                lo = start.get(id(program), (0, 0))[stream] if start is not None else 0
                hi = (
                    end.get(id(program), (0, 0))[stream]
                    if end is not None
                    else len(captured[stream])
                )
                text = captured[stream][lo:hi].decode("utf-8", errors="replace")
                if text:
                    into.append(prefix + text)
        return "\n".join(outs), "\n".join(errs)

    def _test_output(self, number: str) -> tuple[str, str] | None:
        """A test's own lines so far: from its start until the next test's (or now)."""
        with self._lock:
            for i, (marked, sizes) in enumerate(self._marks):
                if marked == number:
                    following = self._marks[i + 1][1] if i + 1 < len(self._marks) else None
                    out, err = self._slices(sizes, following)
                    return _cap(out, TEST_OUTPUT_LIMIT), _cap(err, TEST_OUTPUT_LIMIT)
        return None

    def _attributed_output(self) -> tuple[str, str, dict[str, tuple[str, str]]]:
        """The run's own lines (before the first test), and each test's.

        A test keeps everything written from its start until the next test starts, not
        only until it ends: what a request causes after its answer (a logger on
        'finish', a timer) belongs to that request, and a hidden test's must never land
        in the run's output, which students read.
        """
        with self._lock:
            first = self._marks[0][1] if self._marks else None
            out, err = self._slices(None, first)
            if not self._marks:
                outputs = [p.output() for p in self._started_programs]
                if any(o.stdout_truncated for o in outputs):
                    out += "\n… (truncated)"
                if any(o.stderr_truncated for o in outputs):
                    err += "\n… (truncated)"
            per_test = {number: self._test_output(number) or ("", "") for number, _ in self._marks}
        return _cap(out), _cap(err), per_test

    def cleanup(self) -> None:
        if self.suite is not None:
            self.suite.close()  # its io dir with it
        elif self.io_dir is not None:
            shutil.rmtree(self.io_dir, ignore_errors=True)
        if self.control is not None:
            self.control.close()
        if self.sandbox is not None:
            self.sandbox.close()
        for name in reversed(self.provisioned):
            with contextlib.suppress(Exception):
                self.config.services.release(name, self.run_id)


_LIMIT_WORDS = {
    "memory": "se quedó sin memoria",
    "cpu": "agotó su tiempo de CPU",
    "wall": "se quedó sin tiempo",
    "pids": "creó demasiados procesos",
    "killed": "fue detenido",
}


def _cap(text: str, limit: int = OUTPUT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "\n… (truncated)"


def _exit_dict(info: Any) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"code": info.exit_code, "signal": info.signal, "reason": info.reason}


def _ns_pid(program: Program | None) -> int | None:
    pids = _ns_pids(program) if program is not None else []
    return pids[0] if pids else None


def _ns_pids(program: Program) -> list[int]:
    """Pids of the program's live processes as seen inside its pid namespace.

    The cluster exercise needs them: its workers must not be the primary, and a crashed
    worker must be replaced. The namespace's own init (pid 1, the sandbox's) is left out.
    """
    init_pid = getattr(program, "init_pid", None)
    if init_pid is None:
        return []
    try:
        namespace = os.readlink(f"/proc/{init_pid}/ns/pid")
    except OSError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                continue
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue  # exited, not yet reaped: not alive
        inner = int(fields.get("NSpid", "0").split()[-1])
        if inner != 1:
            pids.append(inner)
    return sorted(pids)


def spec_from_run(slug: str, run: RunSpec, suite_files: Mapping[str, str]) -> ExerciseSpec:
    """The runner's view of an exercise: its manifest's `[run]` table and its suite."""
    time_limit = run.time_limit_seconds
    return ExerciseSpec(
        slug=slug,
        programs=tuple(
            ProgramSpec(
                name=p.name,
                command=tuple(p.command),
                port=p.port,
                env=dict(p.env),
                cwd=p.cwd,
                autostart=p.autostart,
            )
            for p in run.program_list()
        ),
        suite_files={
            k: v for k, v in suite_files.items() if not k.startswith(("inject/", "cache-seed/"))
        },
        inject_files={
            k.removeprefix("inject/"): v for k, v in suite_files.items() if k.startswith("inject/")
        },
        build_cache=run.build_cache,
        cache_seed={
            k.removeprefix("cache-seed/"): v
            for k, v in suite_files.items()
            if k.startswith("cache-seed/")
        },
        limits=Limits(
            memory_mb=run.memory_limit_mb,
            wall_seconds=time_limit + 5,
            # Several processes share the run's CPU time: a cluster, a build.
            cpu_seconds=time_limit * 2,
            pids=run.pids,
            workdir_mb=run.disk_mb,
        ),
        time_limit_seconds=time_limit,
        startup_seconds=run.startup_seconds,
        services=tuple(run.services),
        env=dict(run.env),
        secrets=tuple(run.secrets),
    )
