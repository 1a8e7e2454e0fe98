"""The control channel between a grader suite and the runner that owns the sandbox.

The suite runs unprivileged and cannot start sandboxed programs itself; it asks the
runner over a unix socket, one JSON object per line each way. The runner exposes only
what a suite legitimately needs: start, stop, signal, wait, output, processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV_CONTROL = "TALLER_CONTROL_SOCKET"
_MAX_LINE = 1024 * 1024


class ControlError(RuntimeError):
    """The runner refused or failed an operation; the message is for the student."""


class ControlClient:
    def __init__(self, path: str | None = None, timeout: float = 120.0) -> None:
        # Read lazily: a suite run by hand against a bare server never needs the runner.
        self.path = path or os.environ.get(ENV_CONTROL, "")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._file: Any = None

    def _connect(self) -> None:
        if not self.path:
            raise ControlError("no runner to ask: this suite is not running under Taller")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self._sock = sock
        self._file = sock.makefile("rwb")

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        with self._lock:
            if self._sock is None:
                self._connect()
            self._file.write(json.dumps({"op": op, **args}).encode() + b"\n")
            self._file.flush()
            line = self._file.readline(_MAX_LINE)
        if not line:
            raise ControlError("the runner closed the control channel")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "the runner refused the operation"))
        return answer

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


class ControlServer:
    """Runner side: serves one suite process; each request is handled by `handler`.

    `handler(op, args)` returns the answer's fields, or raises ControlError (sent back
    as a refusal). Anything else it raises is a platform fault: it is recorded in
    `self.failure` and the connection is closed, which ends the run as internal-error.
    """

    def __init__(self, path: Path, handler: Handler, *, owner_uid: int | None = None) -> None:
        self.path = path
        self.handler = handler
        self.failure: BaseException | None = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        if owner_uid is not None:
            os.chown(path, owner_uid, -1)
        os.chmod(path, 0o600)
        self._listener.listen(4)
        self._thread = threading.Thread(target=self._serve, name="taller-control", daemon=True)
        self._closed = False

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_one, args=(conn,), daemon=True).start()

    def _serve_one(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in iter(lambda: stream.readline(_MAX_LINE), b""):
                try:
                    request = json.loads(line)
                    op = str(request.pop("op"))
                    answer = {"ok": True, **self.handler(op, request)}
                except ControlError as exc:
                    answer = {"ok": False, "error": str(exc)}
                except (ValueError, KeyError, TypeError) as exc:
                    answer = {"ok": False, "error": f"malformed request: {exc}"}
                except BaseException as exc:  # a runner fault, never the student's
                    self.failure = exc
                    return
                stream.write(json.dumps(answer).encode() + b"\n")
                stream.flush()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.path.unlink(missing_ok=True)
