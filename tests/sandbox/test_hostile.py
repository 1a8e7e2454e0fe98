"""Hostile programs: each ends with a clear status, leaves nothing behind, harms no one.

Every program lives in `hostile/`; the table below says how it is run, with which
(small) limits, and what must be true afterwards. After each one the test checks that
no process, cgroup, netns, mount or directory of the run remains and that an honest
run still works.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from taller_grader.sandbox import ExitInfo, Limits, Output, SubmissionRejected, open_sandbox
from taller_grader.sandbox.bwrap import BwrapSandbox
from taller_grader.sandbox.netns import wait_for_port

from .conftest import HOSTILE, RUNTIME, assert_clean, honest_run, needs_sandbox, stretched

CANARY = "TALLER_CANARY_5e1f0c"
Check = Callable[[ExitInfo, Output, BwrapSandbox], None]


@dataclass(frozen=True)
class Case:
    limits: Limits
    check: Check
    env: dict[str, str] = field(default_factory=dict)


def _lines(out: Output) -> list[str]:
    return out.stdout.splitlines()


def reason_is(*reasons: str) -> Check:
    def check(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
        assert info.reason in reasons, (info, out.stderr[-500:])

    return check


def every_line_fails(*codes: str, skip: tuple[str, ...] = ()) -> Check:
    def check(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
        assert info.ok, (info, out)
        lines = [line for line in _lines(out) if not line.startswith(skip)]
        assert lines, out
        for line in lines:
            assert line.split()[-1] in codes, line

    return check


def secrets_absent(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    # Of /sys, only the run's own memory cgroup is there (read-only): Node reads its limit.
    every_line_fails("ENOENT", "EACCES", skip=("/sys/fs/cgroup ",))(info, out, sb)
    shown = next(line for line in _lines(out) if line.startswith("/sys/fs/cgroup "))
    kind, listing = shown.split()[1:]
    # cgroup v1: /sys/fs/cgroup/memory; v2: the run's own directory is /sys/fs/cgroup.
    own = set(os.listdir(sb.cgroup.memory_view()[0][0]))
    assert kind == "DIR" and set(listing.split(",")) in ({"memory"}, own), shown


def refused(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert len(_lines(out)) == 4, out
    for line in _lines(out):
        assert line.split()[-1] in ("ECONNREFUSED", "ENETUNREACH", "EADDRNOTAVAIL"), line


def out_of_space(limit: int) -> Check:
    def check(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
        assert info.ok, (info, out)
        code, count = out.stdout.split()
        assert code == "ENOSPC" and int(count) <= limit, out.stdout

    return check


def flood(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out.stderr[-300:])
    assert out.stdout_truncated and out.stderr_truncated
    assert len(out.stdout) == 64 * 1024 and set(out.stdout) == {"a"}


def no_secrets(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert CANARY not in out.stdout + out.stderr
    assert "NODE_EXTRA_CA_CERTS" not in out.stdout
    env = json.loads(next(line for line in _lines(out) if line.startswith("ENV "))[4:])
    assert set(env) <= {"PATH", "HOME", "LANG", "TZ", "PORT", "NODE_OPTIONS", "PWD"}, env
    pids = {line.split()[1] for line in _lines(out) if line.startswith("PID ")}
    assert pids <= {"1", "2"}, pids  # bwrap's init and the program: no host process


def platform_hidden(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert "FOUND" not in out.stdout, out.stdout
    root = next(line for line in _lines(out) if line.startswith("ROOT "))[5:].split(",")
    assert set(root) <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib64",
        "sbin",
        "node_modules",
        "proc",
        "sys",
        "tmp",
        "usr",
        "work",
    }, root
    assert "CWD /work run.js" in out.stdout


def unix_isolated(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert "CONNECTED" not in out.stdout, out.stdout
    assert "UNIX 0" in out.stdout and "IFACES none" in out.stdout, out.stdout


def grader_untouched(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert f"{os.getpid()} ESRCH" in out.stdout, out.stdout
    assert "alive" in out.stdout


def syscalls_denied(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert "ALLOWED" not in out.stdout, out.stdout
    for line in _lines(out)[:-1]:
        name = line.split()[0]
        expected = "Function not implemented" if name == "clone3" else "Operation not permitted"
        assert line.endswith(expected), line
    assert "'Seccomp:\\t2'" in out.stdout and "'NoNewPrivs:\\t1'" in out.stdout, out.stdout
    assert "'CapEff:\\t0000000000000000'" in out.stdout


def daemon_gone(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    assert out.stdout.startswith("daemon ")
    # The main process is gone, so its pid namespace and every process in it are too.
    time.sleep(0.2)
    with pytest.raises(FileNotFoundError):
        sb.read_file("late.txt")


def links_refused(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    for name in ("result.json", "rootlink/etc/hostname", "out/report.txt"):
        with pytest.raises(OSError):
            sb.read_file(name)


def nested_userns_denied(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.ok, (info, out)
    lines = _lines(out)
    assert len(lines) == 3
    for line in lines:
        assert " 1 " in line and "Operation not permitted" in line, line


def pids_or_failed(info: ExitInfo, out: Output, sb: BwrapSandbox) -> None:
    assert info.reason == "pids", (info, out.stdout[-300:], out.stderr[-300:])


SMALL = Limits(wall_seconds=5, cpu_seconds=4, memory_mb=192, pids=48)
CASES: dict[str, Case] = {
    "fork_bomb_node.js": Case(Limits(wall_seconds=3, pids=40, memory_mb=256), pids_or_failed),
    "fork_bomb_shell.sh": Case(Limits(wall_seconds=2, pids=40, memory_mb=128), pids_or_failed),
    "memory_bomb.js": Case(Limits(wall_seconds=10, memory_mb=128), reason_is("memory")),
    "heap_bomb.js": Case(Limits(wall_seconds=15, memory_mb=128), reason_is("memory")),
    "busy_loop.js": Case(Limits(wall_seconds=10, cpu_seconds=1), reason_is("cpu")),
    "sleep_forever.js": Case(Limits(wall_seconds=1), reason_is("wall")),
    "stdout_flood.js": Case(Limits(wall_seconds=30, output_bytes=64 * 1024), flood),
    "disk_fill.js": Case(Limits(workdir_mb=8), out_of_space(8)),
    "many_files.js": Case(Limits(workdir_inodes=2000), out_of_space(2000)),
    "tmp_fill.js": Case(Limits(tmp_mb=8), out_of_space(8)),
    "read_secrets.js": Case(SMALL, secrets_absent),
    "proc_environ.js": Case(SMALL, no_secrets),
    "platform_files.js": Case(SMALL, platform_hidden),
    "connect_postgres.js": Case(SMALL, refused),
    "connect_redis.js": Case(SMALL, refused),
    "connect_rabbitmq.js": Case(SMALL, refused),
    "connect_django.js": Case(SMALL, refused),
    "unix_sockets.py": Case(SMALL, unix_isolated),
    "signal_grader.js": Case(SMALL, grader_untouched, {"GRADER_PID": str(os.getpid())}),
    "ptrace_and_namespaces.py": Case(SMALL, syscalls_denied),
    "daemonize.js": Case(SMALL, daemon_gone),
    "write_outside.js": Case(SMALL, every_line_fails("EROFS", "EACCES", "ENOENT", "EPERM")),
    "symlink_plant.js": Case(SMALL, links_refused),
    "threads_bomb.js": Case(Limits(wall_seconds=3, pids=40), pids_or_failed),
    "userns_escape.js": Case(SMALL, nested_userns_denied),
}
INTERPRETERS = {".js": "node", ".sh": "bash", ".py": "python3"}


def test_the_corpus_is_complete() -> None:
    programs = {p.name for p in HOSTILE.iterdir() if p.suffix in INTERPRETERS}
    assert programs == set(CASES)
    assert len(programs) + len(list(HOSTILE.glob("*.json"))) >= 25


@needs_sandbox
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_program(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    # A secret in the worker's environment must never reach the program.
    monkeypatch.setenv(CANARY, CANARY)
    source = (HOSTILE / name).read_bytes()
    entry = "run" + os.path.splitext(name)[1]
    limits = stretched(case.limits)
    sb = open_sandbox({entry: source}, limits, runtime_dir=RUNTIME)
    try:
        program = sb.start([INTERPRETERS[os.path.splitext(name)[1]], entry], env=case.env)
        info = program.wait(limits.wall_seconds + 15)
        assert info is not None, "the watchdog did not end it"
        case.check(info, program.output(), sb)
    finally:
        sb.close()
    assert_clean(sb)
    honest_run()


def _submission(name: str) -> dict[str, bytes]:
    data = json.loads((HOSTILE / name).read_text())
    return {key: value.encode() for key, value in data.items()}


@needs_sandbox
@pytest.mark.parametrize("name", json.loads((HOSTILE / "bad_names.json").read_text()))
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(SubmissionRejected):
        open_sandbox({name: b"1"}, Limits(), runtime_dir=RUNTIME)


@needs_sandbox
def test_submitted_node_modules_is_rejected() -> None:
    with pytest.raises(SubmissionRejected, match="node_modules"):
        open_sandbox(_submission("node_modules_shadow.json"), Limits(), runtime_dir=RUNTIME)


@needs_sandbox
def test_package_json_with_a_foreign_module_is_rejected_naming_it() -> None:
    with pytest.raises(SubmissionRejected, match='"left-pad"'):
        open_sandbox(_submission("package_json_foreign.json"), Limits(), runtime_dir=RUNTIME)


@needs_sandbox
def test_package_json_scripts_never_run() -> None:
    with open_sandbox(
        _submission("package_json_scripts.json"), Limits(), runtime_dir=RUNTIME
    ) as sb:
        program = sb.start(["node", "server.js"])
        info = program.wait(10)
        assert info is not None and info.ok
        assert program.output().stdout == "no scripts\n"
        with pytest.raises(FileNotFoundError):
            sb.read_file("PWNED")
    assert_clean(sb)


@needs_sandbox
def test_a_run_cannot_reach_another_run() -> None:
    server = b"require('http').createServer((q, r) => r.end('secret')).listen(3000)"
    probe = (
        b"const s = require('net').connect(3000, '127.0.0.1');"
        b"s.on('connect', () => { console.log('CONNECTED'); process.exit(0); });"
        b"s.on('error', (e) => console.log(e.code));"
    )
    with open_sandbox({"s.js": server}, Limits(), runtime_dir=RUNTIME) as victim:
        victim.start(["node", "s.js"])
        assert wait_for_port(victim.netns_path, 3000, 5)
        with open_sandbox({"p.js": probe}, Limits(), runtime_dir=RUNTIME) as attacker:
            program = attacker.start(["node", "p.js"])
            assert program.wait(10) is not None
            assert program.output().stdout.strip() == "ECONNREFUSED"
    assert_clean(victim)
    assert_clean(attacker)
