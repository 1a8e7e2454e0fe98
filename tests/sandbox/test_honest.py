"""Honest programs: what the exercises need works, fast, with the promised environment."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from taller_grader.sandbox import (
    Limits,
    Program,
    Sandbox,
    SandboxError,
    ServiceGrant,
    cgroups,
    open_sandbox,
    sweep,
)
from taller_grader.sandbox.bwrap import BwrapSandbox
from taller_grader.sandbox.netns import inside_netns, wait_for_port

from .conftest import (
    ROOT,
    RUNTIME,
    SLOWDOWN,
    UNIFIED_ONLY,
    assert_clean,
    needs_sandbox,
    processes_of,
    stretched,
)

pytestmark = needs_sandbox

EXPRESS = b"""
const express = require("express");
const app = express();
app.get("/", (req, res) => res.json({ mensaje: "hola", pid: process.pid }));
app.listen(process.env.PORT);
"""


def get(netns_path: str, path: str, port: int = 3000) -> tuple[int, bytes]:
    with inside_netns(netns_path):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.connect()  # the socket is created here, inside the run's namespace
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_node_e_runs_as_uid_1000_with_a_clean_environment() -> None:
    with open_sandbox({}, Limits(), runtime_dir=RUNTIME) as sb:
        program = sb.start(
            [
                "node",
                "-e",
                "console.log(JSON.stringify([process.getuid(), process.getgid(), process.cwd(),"
                " process.env, require('os').userInfo().username,"
                " require('fs').readFileSync('/proc/self/limits', 'utf8')"
                ".match(/Max core file size +(\\S+) +(\\S+)/).slice(1),"
                " process.constrainedMemory(),"
                " require('v8').getHeapStatistics().heap_size_limit]))",
            ]
        )
        info = program.wait(10)
        assert info is not None and info.ok, program.output()
        uid, gid, cwd, env, user, core, constrained, heap = json.loads(program.output().stdout)
    assert (uid, gid, cwd, user) == (1000, 1000, "/work", "node")
    assert core == ["0", "0"]  # no core dumps, and no way to re-enable them
    assert env["PORT"] == "3000"
    # Node sizes its heap from the run's memory cgroup, which it sees: no V8 flag needed.
    assert "NODE_OPTIONS" not in env
    assert constrained == Limits().memory_mb << 20
    assert heap < constrained
    assert "NODE_EXTRA_CA_CERTS" not in env
    assert_clean(sb)


def test_esm_and_commonjs_find_the_shared_modules() -> None:
    submission = {
        "a.mjs": b"import express from 'express'; import jwt from 'jsonwebtoken';"
        b" console.log(typeof express, typeof jwt.sign);",
        "b.js": b"console.log(require('pg').Client.name, require.resolve('express'))",
    }
    with open_sandbox(submission, stretched(Limits()), runtime_dir=RUNTIME) as sb:
        esm, cjs = sb.start(["node", "a.mjs"]), sb.start(["node", "b.js"], name="cjs")
        assert esm.wait(10 * SLOWDOWN) == cjs.wait(10 * SLOWDOWN)
        assert esm.output().stdout == "function function\n", esm.output()
        assert cjs.output().stdout == "Client /node_modules/express/index.js\n", cjs.output()


def test_express_server_answers_over_the_run_network() -> None:
    with open_sandbox({"server.js": EXPRESS}, Limits(), runtime_dir=RUNTIME) as sb:
        server = sb.start(["node", "server.js"])
        assert wait_for_port(sb.netns_path, 3000, 10, alive=lambda: server.running)
        status, body = get(sb.netns_path, "/")
        assert status == 200 and json.loads(body)["mensaje"] == "hola"
        # The host's own port 3000 (where nothing of the run listens) is another network.
        assert server.running
    assert_clean(sb)


def test_wait_for_port_gives_up_when_the_server_dies() -> None:
    with open_sandbox({"s.js": b"process.exit(3)"}, Limits(), runtime_dir=RUNTIME) as sb:
        server = sb.start(["node", "s.js"])
        started = time.monotonic()
        assert not wait_for_port(sb.netns_path, 3000, 10, alive=lambda: server.running)
        assert time.monotonic() - started < 5
        assert server.wait(5) is not None and server.wait(5).exit_code == 3  # type: ignore[union-attr]


def test_two_programs_share_network_and_files_and_a_restart_keeps_files() -> None:
    api = b"""
    const fs = require("fs");
    require("http").createServer((q, r) => {
      fs.appendFileSync("/work/log.txt", "hit\\n");
      r.end(fs.readFileSync("/work/log.txt"));
    }).listen(3001);
    """
    front = b"""
    require("http").createServer((q, r) => {
      require("http").get("http://127.0.0.1:3001/", (up) => up.pipe(r));
    }).listen(3000);
    """
    with open_sandbox({"api.js": api, "front.js": front}, Limits(), runtime_dir=RUNTIME) as sb:
        backend = sb.start(["node", "api.js"], name="api")
        sb.start(["node", "front.js"], name="front")
        assert wait_for_port(sb.netns_path, 3001, 10)
        assert wait_for_port(sb.netns_path, 3000, 10)
        assert get(sb.netns_path, "/") == (200, b"hit\n")
        backend.kill()
        info = backend.wait(5)
        assert info is not None and info.reason == "killed"
        restarted = sb.start(["node", "api.js"], name="api-2")
        assert wait_for_port(sb.netns_path, 3001, 10, alive=lambda: restarted.running)
        assert get(sb.netns_path, "/") == (200, b"hit\nhit\n")
        assert sb.read_file("log.txt") == b"hit\nhit\n"
    assert_clean(sb)


def test_signal_reaches_the_main_process_not_the_sandbox_init() -> None:
    # As in the cluster exercise: the primary handles SIGTERM and shuts its workers down.
    primary = b"""
    const cluster = require("cluster");
    if (cluster.isPrimary) {
      for (let i = 0; i < 2; i++) cluster.fork();
      // Killing a worker still setting up its IPC channel can EPIPE the primary: say
      // when both are up, and only then is the signal sent.
      let listening = 0;
      cluster.on("listening", () => { if (++listening === 2) console.log("ready"); });
      process.on("SIGTERM", () => {
        console.log("primary got SIGTERM");
        for (const w of Object.values(cluster.workers)) w.kill();
        cluster.on("exit", () => { if (!Object.keys(cluster.workers).length) process.exit(0); });
      });
    } else {
      require("http").createServer((q, r) => r.end(String(process.pid))).listen(3000);
    }
    """
    with open_sandbox({"c.js": primary}, Limits(), runtime_dir=RUNTIME) as sb:
        program = sb.start(["node", "c.js"])
        assert wait_for_port(sb.netns_path, 3000, 10)
        deadline = time.monotonic() + 10
        while "ready" not in program.output().stdout and time.monotonic() < deadline:
            time.sleep(0.02)
        program.signal(signal.SIGTERM)
        info = program.wait(10)
        assert info is not None and info.ok, (info, program.output())
        assert program.output().stdout == "ready\nprimary got SIGTERM\n"


def test_kill_ends_the_whole_tree() -> None:
    tree = b"""
    const { spawn } = require("child_process");
    for (let i = 0; i < 3; i++) spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
    setInterval(() => {}, 1000);
    """
    with open_sandbox({"t.js": tree}, Limits(), runtime_dir=RUNTIME) as sb:
        program = sb.start(["node", "t.js"])
        deadline = time.monotonic() + 5
        while len(program_pids(sb)) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(program_pids(sb)) >= 5
        program.kill()
        info = program.wait(5)
        assert info is not None and info.reason == "killed" and info.signal == signal.SIGKILL
        deadline = time.monotonic() + 2
        while program_pids(sb) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert program_pids(sb) == []
    assert_clean(sb)


def program_pids(sb: BwrapSandbox) -> list[int]:
    """The run's processes except the idle launcher kept ready for the next start."""
    found = []
    for pid in sb.cgroup.pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        argv = cmdline.split(b"\0")
        # The launcher waits for its line (`read -r go`, after `ulimit -c 0 &&` when it
        # was started through setpriv) before it becomes the program.
        if not (argv[:2] == [b"/usr/bin/sh", b"-c"] and b"read -r go" in argv[2]):
            found.append(pid)
    return found


def test_grants_add_env_and_binds() -> None:
    with tempfile.TemporaryDirectory() as shared:
        Path(shared, "hello.txt").write_text("from the service")
        os.chmod(shared, 0o777)  # noqa: S103 - the sandbox's host uid is not the owner
        grant = ServiceGrant(env={"DATABASE_URL": "postgres://x"}, binds=((shared, "/run/db"),))
        code = (
            b"const fs = require('fs');"
            b"fs.writeFileSync('/run/db/back.txt', 'ok');"
            b"console.log(process.env.DATABASE_URL, fs.readFileSync('/run/db/hello.txt', 'utf8'))"
        )
        with open_sandbox({"g.js": code}, Limits(), grants=[grant], runtime_dir=RUNTIME) as sb:
            program = sb.start(["node", "g.js"])
            info = program.wait(10)
            assert info is not None and info.ok, program.output()
            assert program.output().stdout == "postgres://x from the service\n"
        assert Path(shared, "back.txt").read_text() == "ok"


def test_reserved_grant_targets_are_refused() -> None:
    grant = ServiceGrant(binds=(("/etc", "/usr/lib"),))
    with pytest.raises(SandboxError):
        open_sandbox({}, Limits(), grants=[grant], runtime_dir=RUNTIME)


def test_sweep_removes_what_a_crashed_worker_left() -> None:
    crash = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from taller_grader.sandbox import Limits, open_sandbox
        sb = open_sandbox({{"s.js": b"setInterval(() => {{}}, 1000)"}}, Limits(),
                          runtime_dir=Path({str(RUNTIME)!r}))
        sb.start(["node", "s.js"])
        time.sleep(0.3)
        print(sb.name, sb.host_uid, flush=True)
        os._exit(1)  # no close(): a crash
    """)
    result = subprocess.run(
        [sys.executable, "-c", crash],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    name, uid = result.stdout.split()
    assert Path("/run/netns", name).exists()
    removed = sweep()
    assert f"cgroup {name}" in removed and f"netns {name}" in removed
    assert not Path("/run/netns", name).exists()
    assert not Path("/run/taller", name).exists()
    # The crashed worker cannot reap its sandbox's init any more: the host's pid 1 does,
    # whenever it gets to it; a zombie holds no memory, files or cgroup.
    deadline = time.monotonic() + 2
    while processes_of(int(uid), zombies=False) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert processes_of(int(uid), zombies=False) == []
    with open("/proc/self/mountinfo") as f:
        assert name not in f.read()


def test_sweep_removes_a_crashed_workers_suite_directory_without_following_links(
    tmp_path: Path,
) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("not the janitor's")
    crash = textwrap.dedent(f"""
        import os
        from taller_grader.suite import new_io_dir
        io_dir = new_io_dir()
        # What a suite may leave in its writable control/ dir: a link out of it.
        os.symlink({str(tmp_path)!r}, io_dir / "control" / "out")
        print(io_dir, flush=True)
        os._exit(1)  # a worker killed before its runner's cleanup
    """)
    result = subprocess.run(
        [sys.executable, "-c", crash], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    io_dir = Path(result.stdout.strip())
    assert io_dir.is_dir() and io_dir.parent == Path("/run/taller")
    removed = sweep()
    assert f"dir {io_dir.name}" in removed
    assert not io_dir.exists()
    assert keep.read_text() == "not the janitor's"


def test_sweep_leaves_live_runs_alone() -> None:
    with open_sandbox({}, Limits(), runtime_dir=RUNTIME) as sb:
        assert all(sb.name not in item for item in sweep())
        assert Path(sb.netns_path).exists()
    assert_clean(sb)


def test_close_twice_and_start_after_close() -> None:
    sb = open_sandbox({}, Limits(), runtime_dir=RUNTIME)
    sb.close()
    sb.close()
    with pytest.raises(SandboxError):
        sb.start(["node", "-e", "0"])
    assert_clean(sb)


def test_the_backend_follows_the_interface() -> None:
    with open_sandbox({}, Limits(), runtime_dir=RUNTIME) as sb:
        assert isinstance(sb, Sandbox)
        program = sb.start(["node", "-e", "0"])
        assert isinstance(program, Program)
        assert program.wait(10) is not None


@pytest.mark.skipif(UNIFIED_ONLY, reason="no cgroup v1 hierarchies on this kernel")
def test_v1_without_a_cgroup2_mount_kills_through_the_freezer(tmp_path: Path) -> None:
    # Hide the cgroup2 mount from detection: the plain-v1 path (freezer, cpuacct) runs.
    with open("/proc/self/mountinfo") as f:
        v1_only = [line for line in f if " - cgroup2 " not in line]
    (tmp_path / "mountinfo").write_text("".join(v1_only))
    layout = cgroups.detect(str(tmp_path / "mountinfo"))
    assert layout.version == 1 and {"freezer", "cpuacct"} <= set(layout.hierarchies)
    assert "unified" not in layout.hierarchies
    tree = b"""
    const { spawn } = require("child_process");
    for (let i = 0; i < 3; i++) spawn("sleep", ["60"], { stdio: "ignore" });
    let n = 0; for (;;) n++;
    """
    with BwrapSandbox(
        {"t.js": tree}, Limits(cpu_seconds=30), runtime_dir=RUNTIME, layout=layout
    ) as sb:
        program = sb.start(["node", "t.js"])
        deadline = time.monotonic() + 5
        while len(program_pids(sb)) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        # The busy loop's CPU time as cpuacct counts it: on a loaded machine it accrues
        # slower than the wall clock, so wait for it rather than for a fixed time.
        while sb.cgroup.cpu_seconds() <= 0.1 and time.monotonic() < deadline + 10:
            time.sleep(0.05)
        assert sb.cgroup.cpu_seconds() > 0.1
        sb.cgroup.kill()
        info = program.wait(5)
        assert info is not None and info.signal == signal.SIGKILL
        # The thawed children die a moment after the main process is reaped.
        deadline = time.monotonic() + 2
        while program_pids(sb) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert program_pids(sb) == []
    assert_clean(sb)


def test_a_program_outlives_the_thread_that_started_it() -> None:
    # --die-with-parent follows the parent *thread*: a grader thread that starts a
    # program and ends must not take the program with it.
    with open_sandbox({}, Limits(), runtime_dir=RUNTIME) as sb:
        started: list[Program] = []
        thread = threading.Thread(
            target=lambda: started.append(
                sb.start(["node", "-e", "setTimeout(() => console.log('alive'), 700)"])
            )
        )
        thread.start()
        thread.join()
        for _ in range(3):  # threads ending later must not matter either
            other = threading.Thread(target=time.sleep, args=(0.05,))
            other.start()
            other.join()
        info = started[0].wait(10)
        assert info is not None and info.ok, info
        assert started[0].output().stdout == "alive\n"


def test_argv_env_and_cwd_arrive_verbatim() -> None:
    # The launcher goes through sh: nothing in argv or env may be interpreted by it.
    tricky = ["a b", "$HOME", "'q'", 'd"q', "new\nline", "`id`", "$(id)", ";rm -rf /", "*", ""]
    value = "$(id); `x` 'y' \"z\"\nw \\ end"
    code = "console.log(JSON.stringify([process.argv.slice(1), process.env.X, process.cwd()]))"
    with open_sandbox({"sub/dir/keep.txt": b""}, Limits(), runtime_dir=RUNTIME) as sb:
        program = sb.start(["node", "-e", code, *tricky], env={"X": value}, cwd="sub/dir")
        info = program.wait(10)
        assert info is not None and info.ok, program.output()
        assert json.loads(program.output().stdout) == [tricky, value, "/work/sub/dir"]
        with pytest.raises(ValueError):
            sb.start(["node"], env={"BAD NAME": "x"})
