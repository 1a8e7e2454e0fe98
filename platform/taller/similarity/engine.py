"""Dolos, run as its own Node process (tools/similarity/analyze.mjs), never in ours.

The request goes on stdin and the answer comes on stdout, one JSON document each;
progress comes on stderr as JSON lines. Both shapes are defined here once, and the
answer is checked before anything of it is stored. No Django in this module.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = "analyze.mjs"
INSTALLED_STAMP = "node_modules/.installed"


class EngineError(Exception):
    """The analysis could not be made; `code` says why (see services.FAILURES)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Entry:
    key: str
    files: Mapping[str, str]
    group: str = "current"  # "earlier": another cohort's; pairs within it are not wanted


@dataclass(frozen=True)
class Span:
    path: str
    start: int  # first line, 1-based
    end: int  # last line, inclusive


@dataclass(frozen=True)
class Fragment:
    kgrams: int
    left: tuple[Span, ...]
    right: tuple[Span, ...]


@dataclass(frozen=True)
class PairResult:
    left: str
    right: str
    similarity: float
    longest: int
    longest_lines: int
    overlap: int
    left_covered: int
    right_covered: int
    left_total: int
    right_total: int
    fragments: tuple[Fragment, ...]


@dataclass(frozen=True)
class Analysis:
    engine: dict[str, Any]
    pairs: list[PairResult]
    kgrams: dict[str, int] = field(default_factory=dict)


ProgressCallback = Callable[[str, int, int], None]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EngineError("bad-output", f"{name}: {value!r}")
    return value


def _span(raw: Any) -> Span:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        raise EngineError("bad-output", f"span: {raw!r}")
    return Span(raw["path"], _int(raw.get("start"), "start"), _int(raw.get("end"), "end"))


def _pair(raw: Any, keys: set[str]) -> PairResult:
    if not isinstance(raw, dict) or raw.get("left") not in keys or raw.get("right") not in keys:
        raise EngineError("bad-output", "a pair names a submission that was not sent")
    similarity = raw.get("similarity")
    if not isinstance(similarity, int | float) or not 0 <= similarity <= 1:
        raise EngineError("bad-output", f"similarity: {similarity!r}")
    fragments = tuple(
        Fragment(
            kgrams=_int(f.get("kgrams"), "kgrams"),
            left=tuple(_span(s) for s in f.get("left", [])),
            right=tuple(_span(s) for s in f.get("right", [])),
        )
        for f in raw.get("fragments", [])
    )
    return PairResult(
        left=raw["left"],
        right=raw["right"],
        similarity=float(similarity),
        longest=_int(raw.get("longest"), "longest"),
        longest_lines=_int(raw.get("longestLines"), "longestLines"),
        overlap=_int(raw.get("overlap"), "overlap"),
        left_covered=_int(raw.get("leftCovered"), "leftCovered"),
        right_covered=_int(raw.get("rightCovered"), "rightCovered"),
        left_total=_int(raw.get("leftTotal"), "leftTotal"),
        right_total=_int(raw.get("rightTotal"), "rightTotal"),
        fragments=fragments,
    )


def parse_answer(text: str, keys: set[str]) -> Analysis:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise EngineError("bad-output", str(exc)) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("pairs"), list):
        raise EngineError("bad-output", "no list of pairs")
    kgrams = {
        str(s.get("key")): _int(s.get("kgrams"), "kgrams")
        for s in raw.get("submissions", [])
        if isinstance(s, dict)
    }
    engine: dict[str, Any] = raw["engine"] if isinstance(raw.get("engine"), dict) else {}
    options: dict[str, Any] = raw["options"] if isinstance(raw.get("options"), dict) else {}
    return Analysis(
        engine={**engine, "options": options},
        pairs=[_pair(p, keys) for p in raw["pairs"]],
        kgrams=kgrams,
    )


def analyse(
    entries: Sequence[Entry],
    *,
    template: Mapping[str, str],
    tool_dir: Path,
    floor: float,
    timeout: float,
    node: str = "node",
    on_progress: ProgressCallback | None = None,
) -> Analysis:
    """Compare every pair of entries (but none within the "earlier" group)."""
    tool_dir = tool_dir.resolve()
    if not (tool_dir / INSTALLED_STAMP).exists():
        raise EngineError("engine-missing", str(tool_dir))
    request = {
        "language": "javascript",
        "floor": floor,
        "skipPairsWithin": ["earlier"],
        "submissions": [{"key": e.key, "files": dict(e.files), "group": e.group} for e in entries],
        "ignore": dict(template),
    }
    try:
        process = subprocess.Popen(  # noqa: S603 — fixed argv, no shell
            [node, str(tool_dir / SCRIPT)],
            cwd=tool_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NODE_ENV": "production"},
        )
    except OSError as exc:
        raise EngineError("engine-missing", str(exc)) from exc
    try:
        out, err = _communicate(
            process, json.dumps(request).encode(), timeout=timeout, on_progress=on_progress
        )
    except BaseException:  # a worker's time limit, a failed progress write: no orphan left
        process.kill()
        process.wait()
        raise
    if process.returncode != 0:
        raise EngineError("engine-failed", _last_error(err) or f"exit {process.returncode}")
    return parse_answer(out.decode("utf-8", "replace"), {e.key for e in entries})


def _communicate(
    process: subprocess.Popen[bytes],
    data: bytes,
    *,
    timeout: float,
    on_progress: ProgressCallback | None,
) -> tuple[bytes, bytes]:
    """Feed stdin, collect stdout, and read progress from stderr as it comes."""
    assert process.stdin and process.stdout and process.stderr
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    pending = memoryview(data)
    sel = selectors.DefaultSelector()
    os.set_blocking(process.stdin.fileno(), False)
    sel.register(process.stdin, selectors.EVENT_WRITE)
    sel.register(process.stdout, selectors.EVENT_READ)
    sel.register(process.stderr, selectors.EVENT_READ)
    seen = 0
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                process.kill()
                process.wait()
                raise EngineError("timeout", f"{timeout:.0f} s")
            for key, _events in sel.select(min(left, 1.0)):
                stream = key.fileobj
                if stream is process.stdin:
                    try:
                        written = os.write(process.stdin.fileno(), pending[:65536])
                    except BrokenPipeError:
                        written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        sel.unregister(process.stdin)
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(stream)
                    continue
                if stream is process.stdout:
                    out += chunk
                else:
                    err += chunk
                    seen = _report_progress(err, seen, on_progress)
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.wait()
        raise EngineError("timeout", f"{timeout:.0f} s") from exc
    finally:
        sel.close()
    return bytes(out), bytes(err)


def _report_progress(err: bytearray, seen: int, on_progress: ProgressCallback | None) -> int:
    end = err.rfind(b"\n")
    if end < seen:
        return seen
    if on_progress is not None:
        for line in bytes(err[seen:end]).splitlines():
            try:
                item = json.loads(line).get("progress")
            except (ValueError, AttributeError):
                continue
            if isinstance(item, dict):
                on_progress(str(item.get("stage", "")), int(item["done"]), int(item["total"]))
    return end + 1


def _last_error(err: bytes) -> str:
    """The script's own error line, else the end of what Node wrote (a crash's trace)."""
    other = []
    for line in err.decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            other.append(line)
            continue
        if isinstance(item, dict) and item.get("error"):
            return str(item["error"])[:2000]
    return "\n".join(other[-12:])[:2000]
