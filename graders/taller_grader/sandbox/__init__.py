"""Run untrusted Node.js programs isolated, with per-run services.

`open_sandbox()` builds one run's sandbox: bubblewrap + cgroups + a network namespace
by default, or containers through a Docker Engine API (`backend="docker"`, see
`sandbox/docker.py`). `sweep()` removes what a crashed worker left behind and is safe at
every worker start (`docker.sweep()` does the same for containers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, Unpack

from taller_grader.sandbox.api import (
    ExitInfo,
    Limits,
    Output,
    Program,
    Sandbox,
    SandboxError,
    ServiceGrant,
    SubmissionRejected,
)
from taller_grader.sandbox.base import RunOptions
from taller_grader.sandbox.bwrap import BwrapProgram, BwrapSandbox, sweep

if TYPE_CHECKING:
    from taller_grader.sandbox.docker import DockerSandbox

__all__ = [
    "BwrapProgram",
    "BwrapSandbox",
    "ExitInfo",
    "Limits",
    "Output",
    "Program",
    "Sandbox",
    "SandboxError",
    "ServiceGrant",
    "SubmissionRejected",
    "open_sandbox",
    "sweep",
]


def open_sandbox(
    files: Mapping[str, bytes],
    limits: Limits,
    *,
    backend: Literal["bwrap", "docker"] = "bwrap",
    docker_url: str | None = None,
    image: str | None = None,
    **options: Unpack[RunOptions],
) -> BwrapSandbox | DockerSandbox:
    """Validate `files`, then build a run's sandbox around them (a context manager).

    `options`: `runtime_dir` (required), `grants`, `run_id`, `state_dir` (base.RunOptions).
    Raises SubmissionRejected (the student's fault, shown to them) before anything is
    created, and SandboxError when the platform cannot build the sandbox. `docker_url`
    and `image` only matter to the docker backend (defaults: $TALLER_DOCKER_URL,
    $TALLER_RUNTIME_IMAGE).
    """
    if backend == "docker":
        # Imported here: workers on the bwrap backend need not have the SDK.
        from taller_grader.sandbox.docker import DockerSandbox

        return DockerSandbox(files, limits, docker_url=docker_url, image=image, **options)
    if backend != "bwrap":
        raise ValueError(f"unknown sandbox backend {backend!r}")
    return BwrapSandbox(files, limits, **options)
