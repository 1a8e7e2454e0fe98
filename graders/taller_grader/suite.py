"""The grader suite's process: pytest, confined by the run's backend, in its network.

Suites are instructors' code (and can be uploaded), so they run unprivileged, with the
students' seccomp filter, a read-only view of Python and the suite, and bounds on memory
and CPU time (`sandbox/grader.py`; under the docker backend, in a container of the run).
They see the run through three paths of an "io" directory that the runner fills:
`/suite` (the test files), `/run.json` (the run's programs and environment) and
`/control` (the socket to ask the runner to start, stop and signal programs).

Starting Python and importing pytest costs about as much as a whole quick suite, so a
suite can also be started *warm*: bwrap and the interpreter start, with pytest and the
SDK imported, before the run exists, in the network namespace of a sandbox shell built
ahead of time (`sandbox/shell.py`), and wait for one line naming pytest's arguments.
Each warm process serves one run and is never reused: nothing carries over between runs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from taller_grader.sandbox.api import GraderCommand, GraderProcess, Sandbox
from taller_grader.sandbox.common import default_state_dir
from taller_grader.sandbox.grader import BwrapGrader
from taller_grader.sandbox.shell import PREFIX, SUITE_IO_SUFFIX
from taller_grader.sdk.control import ENV_CONTROL
from taller_grader.sdk.plugin import ENV_EVENTS_FD, ENV_PRELOAD, ENV_RUN_INFO

# A warm suite gets its CPU bound before the run is known: runs whose time limit needs
# more than this start cold instead.
WARM_CPU_SECONDS = 90
ENTRY = "taller_grader.sdk.entry"
PYTEST_ARGS = (
    "-p", "taller_grader.sdk.plugin",
    "-p", "no:cacheprovider",
    "-q", "--no-header", "-rN", "--tb=no", "-o", "console_output_style=classic",
    "/suite",
)  # fmt: skip


# A suite's own pytest settings may ask for what the cache below does not know about
# (enable_assertion_pass_hook): such suites rewrite their own modules.
_INI_FILES = frozenset({"pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"})


def rewritten_pycs(suite_files: Mapping[str, str]) -> dict[str, bytes]:
    """Pytest's assertion-rewritten code of the suite's modules, as the cached pycs pytest
    looks for beside them (`__pycache__/<name>.<tag>-pytest-<version>.pyc`), by path.

    Rewriting rest-api's test module took a third to a half of its collection (25 ms on
    a quiet 2-core host, 50 to 130 ms on a busy one) and gives the same code every time:
    it is done once per suite text in the worker, and each run's suite only loads it.
    Pytest checks the source's hash before it uses one: a stale pyc is only ignored.
    """
    if _INI_FILES & {PurePosixPath(name).name for name in suite_files}:
        return {}
    return dict(_rewritten(tuple(sorted(suite_files.items()))))


@functools.lru_cache(maxsize=64)
def _rewritten(files: tuple[tuple[str, str], ...]) -> tuple[tuple[str, bytes], ...]:
    import ast
    import importlib.util
    import io

    from _pytest.assertion import rewrite

    out = []
    for name, text in files:
        path = PurePosixPath(name)
        if path.suffix != ".py":
            continue
        source = text.encode()
        where = f"/suite/{name}"
        try:
            tree = ast.parse(source, filename=where)
            rewrite.rewrite_asserts(tree, source, where, None)
            code = compile(tree, where, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue  # the suite reports it itself, as it would have
        pyc = io.BytesIO()
        rewrite._write_pyc_fp(pyc, importlib.util.source_hash(source), code)
        cached = path.parent / "__pycache__" / (path.stem + rewrite.PYC_TAIL)
        out.append((str(cached), pyc.getvalue()))
    return tuple(out)


# The clients a suite uses for each per-run service (the SDK's fixtures import them).
SERVICE_MODULES = {
    "postgres": ("psycopg",),
    "mongo": ("pymongo", "bson"),
    "rabbitmq": ("amqp",),
}


def preload_for(services: Sequence[str]) -> tuple[str, ...]:
    """What a warm suite should import ahead for an exercise with these services."""
    return tuple(module for service in services for module in SERVICE_MODULES.get(service, ()))


def cpu_seconds_for(time_limit_seconds: float) -> int:
    return int(time_limit_seconds) + 30


def new_io_dir() -> Path:
    """The directory a suite sees; its entries exist before bwrap binds them.

    In the sandbox's root-only state dir, named after this worker, so that the janitor
    removes it if the worker dies before it does.
    """
    state = default_state_dir()
    state.mkdir(mode=0o755, parents=True, exist_ok=True)
    io_dir = Path(
        tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=SUITE_IO_SUFFIX, dir=state)
    )
    (io_dir / "suite").mkdir()
    (io_dir / "control").mkdir()
    # A file bind pins the inode: the runner later rewrites this file in place.
    (io_dir / "run.json").write_text("{}")
    return io_dir


def _command(
    python: str,
    cpu_seconds: int,
    io_dir: Path,
    module_args: Sequence[str],
    *,
    warm: bool,
    preload: Sequence[str] = (),
) -> GraderCommand:
    return GraderCommand(
        argv=(python, "-I", *module_args),
        env=_env(preload),
        binds=(
            (str(io_dir / "suite"), "/suite", False),
            (str(io_dir / "run.json"), "/run.json", False),
            (str(io_dir / "control"), "/control", True),
        ),
        chdir="/suite",
        stderr=io_dir / "suite.stderr",
        events_env=ENV_EVENTS_FD,
        cpu_seconds=cpu_seconds,
        warm=warm,
    )


def _env(preload: Sequence[str] = ()) -> dict[str, str]:
    return {
        ENV_PRELOAD: ",".join(preload),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Only the SDK's plugin: the platform's own (pytest-django, ...) are not the
        # suite's business, and loading them costs start-up time.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        ENV_RUN_INFO: "/run.json",
        ENV_CONTROL: "/control/sock",
    }


class SuiteProcess:
    """A suite's process and the read end of its events pipe; owns its io directory."""

    def __init__(
        self, process: GraderProcess, python: str, cpu_seconds: int, io_dir: Path, *, warm: bool
    ) -> None:
        self.process = process
        self.events_r = process.events_r
        self.io_dir = io_dir
        self.cpu_seconds = cpu_seconds
        self.python = python
        self.warm = warm

    @classmethod
    def cold(cls, sandbox: Sandbox, python: str, cpu_seconds: int, io_dir: Path) -> SuiteProcess:
        """Started by the run's own backend, once the runner has written the io dir."""
        command = _command(python, cpu_seconds, io_dir, ["-m", ENTRY, *PYTEST_ARGS], warm=False)
        return cls(sandbox.start_grader(command), python, cpu_seconds, io_dir, warm=False)

    @classmethod
    def start_warm(cls, netns_path: str, python: str, preload: Sequence[str] = ()) -> SuiteProcess:
        """In a pre-built bubblewrap shell's namespace, before its run exists.

        `preload`: modules to import ahead besides pytest's, for the run to come.
        """
        io_dir = new_io_dir()
        try:
            command = _command(
                python, WARM_CPU_SECONDS, io_dir, ["-m", ENTRY], warm=True, preload=preload
            )
            process = BwrapGrader(netns_path, command)
        except BaseException:
            shutil.rmtree(io_dir, ignore_errors=True)
            raise
        return cls(process, python, WARM_CPU_SECONDS, io_dir, warm=True)

    def fits(self, python: str, cpu_seconds: int) -> bool:
        """Whether this warm process may serve a run that needs these."""
        return self.warm and self.python == python and cpu_seconds <= self.cpu_seconds

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float) -> int:
        """Its exit status; subprocess.TimeoutExpired if it still runs after `timeout`."""
        return self.process.wait(timeout)

    def go(self) -> None:
        """Let a warm suite run pytest on what the runner has written by now."""
        assert self.process.stdin is not None
        self.process.set_background(False)
        stdin, self.process.stdin = self.process.stdin, None
        with contextlib.suppress(BrokenPipeError):
            stdin.write(json.dumps(PYTEST_ARGS).encode() + b"\n")
        with contextlib.suppress(BrokenPipeError):
            stdin.close()

    def kill(self) -> None:
        """Everything of the suite's, forks in other sessions included."""
        self.process.kill()

    def close(self) -> None:
        """Kill what is left, reap it, close the pipe and remove the io directory."""
        self.process.release()
        shutil.rmtree(self.io_dir, ignore_errors=True)

    # The pre-built shells' pool calls this; its object must have `discard()`.
    discard = close
