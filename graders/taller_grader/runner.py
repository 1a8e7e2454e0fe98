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
import json
import logging
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from taller_grader import sandbox as sandbox_mod
from taller_grader.results import (
    ContractError,
    Results,
    RunStatus,
    TestResult,
    TestStatus,
    Visibility,
)
from taller_grader.sandbox import netns, seccomp
from taller_grader.sandbox.api import (
    Limits,
    Program,
    Sandbox,
    SandboxError,
    ServiceGrant,
    SubmissionRejected,
)
from taller_grader.sandbox.services.base import RunService
from taller_grader.sdk.control import ENV_CONTROL, ControlError, ControlServer
from taller_grader.sdk.plugin import ENV_EVENTS_FD, ENV_RUN_INFO

OUTPUT_LIMIT = 64 * 1024  # per stream in the results document
_GRADER_MEMORY_BYTES = 2 << 30  # address space of the suite's process
logger = logging.getLogger(__name__)
INJECT_DIR = ".taller"
_GRADER_UID = 2000


@dataclass(frozen=True)
class ProgramSpec:
    """A program of the exercise: how to start it and where it listens."""

    name: str
    command: tuple[str, ...]
    port: int | None = 3000
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "."
    autostart: bool = True


@dataclass(frozen=True)
class ExerciseSpec:
    """Everything the runner needs to know about an exercise (from its manifest)."""

    slug: str
    programs: tuple[ProgramSpec, ...]
    suite_files: Mapping[str, str]
    limits: Limits = field(default_factory=Limits)
    time_limit_seconds: float = 30.0
    startup_seconds: float = 10.0
    services: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # Env vars given a fresh random value each run (JWT_SECRET, API_KEY, ...).
    secrets: tuple[str, ...] = ()
    show_hidden: bool = False
    # Files the grader puts beside the student's (graders/<slug>/inject/), readable in
    # the sandbox under .taller/ — e.g. a --require hook that instruments an API.
    inject_files: Mapping[str, str] = field(default_factory=dict)


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
OnEvent = Callable[[Event], None]


class _InternalError(Exception):
    """The platform failed; the run is retried and the student loses nothing."""


def grade(
    spec: ExerciseSpec,
    files: Mapping[str, bytes],
    config: RunnerConfig,
    on_event: OnEvent | None = None,
) -> Results:
    """Grade `files` against `spec`'s suite. Never raises for the student's faults."""
    started = time.monotonic()
    run = _Run(spec, files, config, on_event or (lambda event: None))
    try:
        return run.execute()
    except SubmissionRejected as exc:
        return Results.ungraded(spec.slug, RunStatus.REJECTED, exc.reason)
    except (_InternalError, SandboxError, ContractError, OSError) as exc:
        return Results.ungraded(
            spec.slug,
            RunStatus.INTERNAL_ERROR,
            f"La plataforma de corrección falló ({exc}). No es culpa tuya: la entrega se "
            "vuelve a calificar y no te cuesta un intento.",
            execution_time=time.monotonic() - started,
            tests=run.collected,
        )
    finally:
        run.cleanup()


class _Run:
    def __init__(
        self,
        spec: ExerciseSpec,
        files: Mapping[str, bytes],
        config: RunnerConfig,
        on_event: OnEvent,
    ) -> None:
        self.spec = spec
        self.files = files
        self.config = config
        self.on_event = on_event
        self.run_id = secrets.token_hex(6)
        self.env = {**spec.env, **{name: secrets.token_urlsafe(24) for name in spec.secrets}}
        self.sandbox: Sandbox | None = None
        self.programs: dict[str, Program] = {}
        self.specs = {p.name: p for p in spec.programs}
        self.provisioned: list[str] = []
        self.control: ControlServer | None = None
        self.suite: subprocess.Popen[bytes] | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="taller-suite-"))
        self.collected: tuple[TestResult, ...] = ()
        self.finished: dict[str, TestResult] = {}
        self.startup_failure: str | None = None
        self.started = time.monotonic()
        self._lock = threading.RLock()

    # The run -------------------------------------------------------------------------

    def execute(self) -> Results:
        reserved = [name for name in self.files if name.split("/", 1)[0] == INJECT_DIR]
        if reserved:
            raise SubmissionRejected(
                f"{reserved[0]}: la carpeta {INJECT_DIR}/ está reservada para el corrector"
            )
        files = {
            **self.files,
            **{
                f"{INJECT_DIR}/{name}": text.encode()
                for name, text in self.spec.inject_files.items()
            },
        }
        self.sandbox = sandbox_mod.open_sandbox(
            files,
            self.spec.limits,
            runtime_dir=self.config.runtime_dir,
            run_id=self.run_id,
            state_dir=self.config.state_dir,
            backend=self.config.sandbox_backend,
            docker_url=self.config.docker_url,
        )
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
        self.control = ControlServer(self.tmp / "control" / "sock", self._handle).start()
        timed_out = self._run_suite()
        return self._results(timed_out)

    def _results(self, timed_out: bool) -> Results:
        elapsed = time.monotonic() - self.started
        stdout, stderr = self._program_output()
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
        code = self.suite.returncode
        if code not in (0, 1):
            # For the staff's logs only: a suite's traceback may show hidden tests' inputs.
            tail = (self.tmp / "suite.stderr").read_bytes()[-4000:].decode(errors="replace")
            logger.warning("%s: grader suite exited with code %s:\n%s", self.spec.slug, code, tail)
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
        suite = self.tmp / "suite"
        for name, text in self.spec.suite_files.items():
            path = suite / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (self.tmp / "control").mkdir()
        info = {
            "exercise": self.spec.slug,
            "env": self.env,
            "show_hidden": self.spec.show_hidden,
            "programs": {
                p.name: {"port": p.port, "command": list(p.command)} for p in self.spec.programs
            },
        }
        (self.tmp / "run.json").write_text(json.dumps(info))

    def _grader_argv(self, seccomp_fd: int) -> list[str]:
        """The suite under bubblewrap: read-only view of Python and the suite, no secrets.

        Suites are instructors' code (and can be uploaded), so they get the students'
        seccomp filter and bounds on memory and CPU time as well.
        """
        python = Path(self.config.python)
        roots = {Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parent.parent}
        limits: list[str] = []
        if shutil.which("prlimit"):
            cpu = int(self.spec.time_limit_seconds) + 30
            limits = ["prlimit", f"--as={_GRADER_MEMORY_BYTES}", f"--cpu={cpu}", "--"]
        args = [
            *limits,
            "bwrap",
            "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--uid", str(_GRADER_UID), "--gid", str(_GRADER_UID), "--disable-userns",
            "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr",
            "--ro-bind-try", "/etc/ssl", "/etc/ssl",
            # Before the binds below: a checkout under /tmp (as CI's) must stay visible.
            "--tmpfs", "/tmp",
        ]  # fmt: skip
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        for root in sorted(roots):
            if not str(root).startswith("/usr"):
                args += ["--ro-bind", str(root), str(root)]
        args += [
            "--proc", "/proc",
            "--dev", "/dev",
            "--ro-bind", str(self.tmp / "suite"), "/suite",
            "--ro-bind", str(self.tmp / "run.json"), "/run.json",
            "--bind", str(self.tmp / "control"), "/control",
            "--remount-ro", "/",
            "--chdir", "/suite",
            "--seccomp", str(seccomp_fd),
            "--",
            str(python), "-I", "-m", "pytest",
            "-p", "taller_grader.sdk.plugin",
            "-p", "no:cacheprovider",
            "-q", "--no-header", "-rN", "--tb=no", "-o", "console_output_style=classic",
            "/suite",
        ]  # fmt: skip
        return args

    def _run_suite(self) -> bool:
        """Run the suite, feeding its events through; True if the time limit was hit."""
        assert self.sandbox is not None
        read_fd, write_fd = os.pipe()
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1",
            # Only the SDK's plugin: the platform's own (pytest-django, ...) are not the
            # suite's business, and loading them costs start-up time.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            ENV_EVENTS_FD: str(write_fd),
            ENV_RUN_INFO: "/run.json",
            ENV_CONTROL: "/control/sock",
        }
        # A child forked from a thread inside the run's netns is born there: no
        # preexec_fn (unsafe with threads) and no privileges needed in the child.
        seccomp_fd = seccomp.filter_fd()
        # A file, not a pipe nobody reads: a chatty suite must not block on a full pipe.
        with open(self.tmp / "suite.stderr", "wb") as stderr:
            try:
                with netns.inside_netns(self.sandbox.netns_path):
                    self.suite = subprocess.Popen(  # noqa: S603 — argv built above, no shell
                        self._grader_argv(seccomp_fd),
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=stderr,
                        pass_fds=(write_fd, seccomp_fd),
                        start_new_session=True,
                    )
            finally:
                os.close(seccomp_fd)
        os.close(write_fd)
        deadline = self.started + self.spec.time_limit_seconds
        timed_out = False
        try:
            with os.fdopen(read_fd, "rb") as events:
                timed_out = self._pump(events, deadline)
        finally:
            if timed_out:
                self._kill_suite()
            try:
                self.suite.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill_suite()
        return timed_out

    def _pump(self, events: Any, deadline: float) -> bool:
        buffer = b""
        fd = events.fileno()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return True
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self._event(line)

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
            kind = event["event"]
            if kind == "collected":
                self.collected = tuple(
                    TestResult(
                        number=str(t["number"]),
                        name=str(t["name"]),
                        score=0.0,
                        max_score=float(t["max_score"]),
                        status=TestStatus.FAILED,
                        visibility=Visibility(t["visibility"]),
                    )
                    for t in event["tests"]
                )
                self.on_event(Collected(self.collected))
            elif kind == "test":
                result = TestResult.from_dict(event["test"])
                known = {t.number: t for t in self.collected}
                if result.number not in known or result.number in self.finished:
                    raise ContractError(f"unexpected result for test {result.number}")
                if result.max_score != known[result.number].max_score:
                    raise ContractError(f"test {result.number} changed its points")
                self.finished[result.number] = result
                self.on_event(TestFinished(result))
            elif kind == "startup-failed":
                self.startup_failure = str(event["output"])
            else:
                raise ContractError(f"unknown event {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            self._kill_suite()
            raise _InternalError(f"the grader suite sent a malformed event: {exc}") from None

    def _kill_suite(self) -> None:
        if self.suite is not None and self.suite.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.suite.pid, signal.SIGKILL)

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
            exit_info = program.wait(0.05)
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
        raise ControlError(
            f"`{' '.join(spec.command)}` no aceptó conexiones en el puerto {spec.port} en "
            f"{timeout:g} s. ¿Llama a listen() con process.env.PORT ({spec.port})? "
            "Su salida está abajo."
        )

    def _handle(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op == "ready":
            for spec in self.spec.programs:
                if spec.autostart:
                    self._wait_ready(spec.name, self.spec.startup_seconds)
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

    def _program_output(self) -> tuple[str, str]:
        outs, errs = [], []
        several = len(self.programs) > 1
        for name, program in self.programs.items():
            out = program.output()
            prefix = f"[{name}]\n" if several else ""
            if out.stdout:
                outs.append(
                    prefix + out.stdout + ("\n… (truncated)" if out.stdout_truncated else "")
                )
            if out.stderr:
                errs.append(
                    prefix + out.stderr + ("\n… (truncated)" if out.stderr_truncated else "")
                )
        return _cap("\n".join(outs)), _cap("\n".join(errs))

    def cleanup(self) -> None:
        self._kill_suite()
        if self.suite is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.suite.wait(timeout=5)
        if self.control is not None:
            self.control.close()
        if self.sandbox is not None:
            self.sandbox.close()
        for name in reversed(self.provisioned):
            with contextlib.suppress(Exception):
                self.config.services.release(name, self.run_id)
        shutil.rmtree(self.tmp, ignore_errors=True)


_LIMIT_WORDS = {
    "memory": "se quedó sin memoria",
    "cpu": "agotó su tiempo de CPU",
    "wall": "se quedó sin tiempo",
    "pids": "creó demasiados procesos",
    "killed": "fue detenido",
}


def _cap(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n… (truncated)"


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


def spec_from_manifest(
    slug: str, manifest: Mapping[str, Any], suite_files: Mapping[str, str]
) -> ExerciseSpec:
    """Build the runner's view of an exercise from its validated manifest (as JSON)."""
    run = manifest.get("run", {})
    programs: Sequence[Mapping[str, Any]] = run.get("programs") or [
        {"name": "server", "command": ["node", run["entry"][0]], "port": 3000}
    ]
    memory = int(run.get("memory_limit_mb", 256))
    time_limit = float(run.get("time_limit_seconds", 30))
    return ExerciseSpec(
        slug=slug,
        programs=tuple(
            ProgramSpec(
                name=p["name"],
                command=tuple(p["command"]),
                port=p.get("port"),
                env=dict(p.get("env", {})),
                cwd=p.get("cwd", "."),
                autostart=p.get("autostart", True),
            )
            for p in programs
        ),
        suite_files={k: v for k, v in suite_files.items() if not k.startswith("inject/")},
        inject_files={
            k.removeprefix("inject/"): v for k, v in suite_files.items() if k.startswith("inject/")
        },
        limits=Limits(
            memory_mb=memory,
            wall_seconds=time_limit + 5,
            # Several processes share the run's CPU time: a cluster, a build.
            cpu_seconds=time_limit * 2,
            pids=int(run.get("pids", Limits().pids)),
            workdir_mb=int(run.get("disk_mb", Limits().workdir_mb)),
        ),
        time_limit_seconds=time_limit,
        startup_seconds=float(run.get("startup_seconds", 10)),
        services=tuple(run.get("services", ())),
        env=dict(run.get("env", {})),
        secrets=tuple(run.get("secrets", ())),
    )
