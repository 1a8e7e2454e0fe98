"""Run untrusted Node.js programs isolated, with per-run services.

`open_sandbox()` builds one run's sandbox (bubblewrap + cgroups + a network namespace);
`sweep()` removes what a crashed worker left behind and is safe at every worker start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

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
from taller_grader.sandbox.bwrap import BwrapProgram, BwrapSandbox, sweep

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
    grants: Sequence[ServiceGrant] = (),
    runtime_dir: Path,
    run_id: str | None = None,
    state_dir: Path | None = None,
) -> BwrapSandbox:
    """Validate `files`, then build a run's sandbox around them (a context manager).

    Raises SubmissionRejected (the student's fault, shown to them) before anything is
    created, and SandboxError when the platform cannot build the sandbox.
    """
    return BwrapSandbox(
        files,
        limits,
        grants=grants,
        runtime_dir=runtime_dir,
        run_id=run_id,
        state_dir=state_dir,
    )
