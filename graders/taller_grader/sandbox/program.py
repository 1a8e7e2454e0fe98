"""What a program of either backend keeps the same way: its captured output, how its
end is told (exit code, signal, the limit it hit) and killing or waiting for it."""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod

from taller_grader.sandbox.api import ExitInfo, Limits, Output


class Capture:
    """Keep the first `cap` bytes of a stream; drop the rest, noting that it was cut."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        if len(chunk) > max(room, 0):
            self.truncated = True

    def take(self, fd: int, devnull: int) -> bool:
        """Read from `fd` once, without buffering what is past the cap; False at EOF."""
        if len(self.data) < self.cap:
            chunk = os.read(fd, min(65536, self.cap - len(self.data)))
            self.data += chunk
            return bool(chunk)
        # splice() moves the excess to /dev/null in the kernel: 1 GB costs little here.
        try:
            moved = os.splice(fd, devnull, 1 << 20)
        except OSError:
            moved = len(os.read(fd, 65536))
        if moved:
            self.truncated = True
        return moved > 0


def exit_status(code: int) -> tuple[int | None, int | None]:
    """(exit code, signal) from a status where a signal N shows as -N or as 128+N."""
    if code < 0:
        return None, -code
    if 128 < code <= 128 + 64:
        return None, code - 128
    return code, None


def limit_reason(
    reason: str | None, exit_code: int | None, stderr: bytes | bytearray, *, oom: bool, pids: bool
) -> str | None:
    """The limit a program's end is due to, from what the cgroup and V8 tell.

    An ended program that was out of memory or processes did so because of it, whether
    we were also about to stop it for time; a clean exit keeps no reason of its own.
    """
    abnormal = exit_code != 0
    if reason in (None, "wall", "cpu") and oom:
        return "memory" if abnormal or reason else reason
    if reason is None and abnormal and b"heap out of memory" in stderr:
        return "memory"
    if reason in (None, "wall", "cpu") and pids:
        return "pids" if abnormal or reason else reason
    return reason


class ProgramBase(ABC):
    """The bookkeeping of `Program` (api.py); a backend says how to kill and watches."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self._limits = limits
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._kill_reason: str | None = None
        self._exit: ExitInfo | None = None
        self._stdout = Capture(limits.output_bytes)
        self._stderr = Capture(limits.output_bytes)

    @abstractmethod
    def _send_kill(self) -> None:
        """SIGKILL the program's whole process tree (called under the lock, once alive)."""

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def _kill(self, reason: str) -> None:
        with self._lock:
            if self._done.is_set():
                return
            if self._kill_reason is None:
                self._kill_reason = reason
            self._send_kill()

    def kill(self) -> None:
        self._kill("killed")

    def wait(self, timeout: float | None = None) -> ExitInfo | None:
        if not self._done.wait(timeout):
            return None
        return self._exit

    def _pending(self) -> int:
        """Bytes the program wrote that the reader has not taken yet, when knowable."""
        return 0

    def output_mark(self, settle: float = 0.2) -> tuple[int, int]:
        # Node writes to a pipe synchronously, so a line logged before a response was
        # sent is in the pipe by now; wait (briefly) until the reader has taken it.
        deadline = time.monotonic() + settle
        last: tuple[int, int] | None = None
        while True:
            sizes = (len(self._stdout.data), len(self._stderr.data))
            if (sizes == last and self._pending() == 0) or time.monotonic() >= deadline:
                return sizes
            last = sizes
            time.sleep(0.0005)

    def captured(self) -> tuple[bytes, bytes]:
        return bytes(self._stdout.data), bytes(self._stderr.data)

    def output(self) -> Output:
        return Output(
            stdout=bytes(self._stdout.data).decode("utf-8", errors="replace"),
            stderr=bytes(self._stderr.data).decode("utf-8", errors="replace"),
            stdout_truncated=self._stdout.truncated,
            stderr_truncated=self._stderr.truncated,
        )
