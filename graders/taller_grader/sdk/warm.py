"""A grader suite's interpreter started before its run (see `taller_grader.suite`).

Imports what every suite needs, then waits for one line on stdin: pytest's arguments as
a JSON list. End of input instead means the run never came; it exits quietly.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys

import pytest

import taller_grader.sdk.plugin  # noqa: F401 — imported ahead, registered by `-p`

# What suites and the SDK's fixtures import lazily; a missing one is only not preloaded.
PRELOAD = ("http.client", "psycopg", "pymongo", "bson", "jwt", "amqp", "html.parser")


def _preload() -> None:
    # pytest imports its built-in plugins when it configures itself, after the run came.
    from _pytest.config import default_plugins

    for name in default_plugins:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"_pytest.{name}")
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def main() -> int:
    _preload()
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0
    args = json.loads(line)
    # The suite reads nothing from the runner's pipe.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return int(pytest.main([str(arg) for arg in args]))


if __name__ == "__main__":
    sys.exit(main())
