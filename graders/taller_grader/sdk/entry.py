"""The grader suite's interpreter: pytest with the SDK's plugin, in the suite's sandbox.

Started cold with pytest's arguments on its command line, or warm (see
`taller_grader.suite`): before the run exists, importing what every suite needs, then
waiting for one line on stdin, pytest's arguments as a JSON list. End of input instead
means the run never came; it exits quietly.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import sys

import pytest

import taller_grader.sdk.plugin  # noqa: F401 — imported ahead, registered by `-p`
from taller_grader.sdk.plugin import ENV_EVENTS_FD, ENV_PRELOAD

# What suites and the SDK's fixtures import lazily; a missing one is only not preloaded.
# The clients of per-run services (psycopg, pymongo: 200 ms of CPU together) are named
# by the runner for the exercises that have them (ENV_PRELOAD).
PRELOAD = ("http.client", "jwt", "html.parser")


def _preload() -> None:
    # pytest imports its built-in plugins when it configures itself, after the run came.
    from _pytest.config import default_plugins

    for name in default_plugins:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"_pytest.{name}")
    extra = [name for name in os.environ.get(ENV_PRELOAD, "").split(",") if name]
    for name in (*PRELOAD, *extra):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _wait_for_arguments() -> list[str] | None:
    _preload()
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return None
    # The suite reads nothing from the runner's pipe.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return [str(arg) for arg in json.loads(line)]


def main(argv: list[str]) -> int:
    args = argv or _wait_for_arguments()
    if args is None:
        return 0
    # What is imported by now lives as long as the process: out of the collector's
    # sight. Pytest collects twice at its end (looking for unraisable exceptions), and
    # walking the preloaded modules' objects took 40 to 100 ms of every run.
    gc.freeze()
    return int(pytest.main(args))


def _report_exit(code: int) -> None:
    """Pytest's exit status, as the last line on the events pipe.

    The runner takes it as the suite's end: it need not wait for the process to exit
    (the teardown of its sandbox's namespaces, tens of ms and more on a busy host)
    before the verdict goes out; it kills and reaps it afterwards.
    """
    fd = os.environ.get(ENV_EVENTS_FD)
    if not fd:
        return
    with contextlib.suppress(OSError, ValueError):
        data = memoryview(json.dumps({"event": "exit", "code": code}).encode() + b"\n")
        while data:
            data = data[os.write(int(fd), data) :]


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    _report_exit(code)
    # Every result is already on the events pipe (unbuffered writes) and pytest has torn
    # its fixtures down: the interpreter's own shutdown, ~90 ms with psycopg and pymongo
    # loaded, would only delay the verdict.
    os._exit(code)
