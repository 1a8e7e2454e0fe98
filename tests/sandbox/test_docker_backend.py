"""The docker backend, for real: podman's Docker-compatible service drives the containers.

A session fixture starts the project's podman service (scripts/podman-service.sh) and
makes sure the runtime image exists (scripts/runtime-image.sh) when podman is installed
and we are root; every test skips, saying why, when no engine answers.
`TALLER_DOCKER_URL` points the tests at another engine (a real Docker, say).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taller_grader.results import Results, RunStatus
from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, _ns_pids, grade
from taller_grader.sandbox import (
    Limits,
    SandboxError,
    ServiceGrant,
    SubmissionRejected,
    cgroups,
    netns,
    open_sandbox,
    seccomp,
)
from taller_grader.sandbox import docker as backend
from taller_grader.sandbox import engine as engines
from taller_grader.sandbox.netns import inside_netns, wait_for_port

from .conftest import HOSTILE, ROOT, RUNTIME

SCRIPTS = ROOT / "scripts"


def _engine() -> tuple[Any, str | None, bool]:
    """(client or None, skip reason, whether we started the service)."""
    try:
        import docker  # noqa: F401
    except ImportError:
        return None, "the `docker` Python package is not installed", False
    url = engines.docker_url()
    try:
        return engines.connect(url, timeout=10), None, False
    except SandboxError as exc:
        first_error = str(exc)
    if "TALLER_DOCKER_URL" in os.environ:
        return None, f"no engine answers at TALLER_DOCKER_URL: {first_error}", False
    if shutil.which("podman") is None or shutil.which("runc") is None:
        return (
            None,
            f"{first_error}; podman/runc not installed (apt-get install podman runc)",
            False,
        )
    if os.geteuid() != 0:
        return None, "starting the podman service needs root", False
    started = subprocess.run(
        [str(SCRIPTS / "podman-service.sh"), "start"], capture_output=True, text=True, timeout=60
    )
    if started.returncode != 0:
        return None, f"podman-service.sh failed: {started.stderr.strip()[-300:]}", False
    try:
        return engines.connect(url, timeout=10), None, True
    except SandboxError as exc:
        return None, str(exc), True


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    client, reason, started = _engine()
    try:
        if client is None:
            pytest.skip(reason or "no container engine")
        if not (RUNTIME / "node_modules" / "express").is_dir():
            pytest.skip("runtime/node_modules is missing (cd runtime && npm ci --ignore-scripts)")
        if os.geteuid() != 0:
            pytest.skip("the docker backend mounts the run's tmpfs dirs: it needs root")
        image = engines.docker_image()
        if image == engines.DEFAULT_IMAGE and shutil.which("podman") is not None:
            # Idempotent (~0.5 s when up to date): rebuilds when node_modules changed.
            built = subprocess.run(
                [str(SCRIPTS / "runtime-image.sh")], capture_output=True, text=True, timeout=300
            )
            if built.returncode != 0:
                pytest.skip(f"runtime-image.sh failed: {built.stderr.strip()[-300:]}")
        try:
            client.images.get(image)
        except Exception:
            pytest.skip(f"image {image} is missing")
        yield client
    finally:
        if client is not None:
            client.close()
        if started:
            subprocess.run([str(SCRIPTS / "podman-service.sh"), "stop"], check=False, timeout=30)


def _open(files: dict[str, bytes], limits: Limits | None = None) -> backend.DockerSandbox:
    sb = open_sandbox(files, limits or Limits(), runtime_dir=RUNTIME, backend="docker")
    assert isinstance(sb, backend.DockerSandbox)
    return sb


def _containers(engine: Any, run_name: str | None = None) -> list[dict[str, Any]]:
    label = backend.LABEL_RUN if run_name is None else f"{backend.LABEL_RUN}={run_name}"
    return list(engine.api.containers(all=True, filters={"label": label}))


def assert_clean(engine: Any, sb: backend.DockerSandbox) -> None:
    assert _containers(engine, sb.name) == [], "containers left behind"
    assert not sb.run_dir.exists(), "run dir left behind"
    assert not Path(netns.NETNS_DIR, sb.name).exists(), "netns left behind"
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        assert not (hierarchy / sb.name).exists(), f"cgroup left behind in {hierarchy}"
    assert not Path("/sys/fs/cgroup", sb.name).exists(), "cgroup left behind"
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        assert sb.name not in f.read(), "mount left behind"


def _http_get(sb: backend.DockerSandbox, path: str) -> tuple[int, bytes]:
    # The socket is made inside the run's namespace; it stays there after we leave.
    with inside_netns(sb.netns_path):
        conn = http.client.HTTPConnection("127.0.0.1", 3000, timeout=5)
        conn.connect()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- honest runs ------------------------------------------------------------------------


def test_node_e_runs_as_uid_1000_in_work(engine: Any) -> None:
    code = b"console.log(6 * 7, process.getuid(), process.cwd(), require.resolve('express'))"
    files = {"ok.js": code, "sub/cwd.js": b"console.log(process.cwd())"}
    with _open(files) as sb:
        with pytest.raises(SandboxError, match="bad cwd"):
            sb.start(["node", "ok.js"], cwd="missing")
        in_sub = sb.start(["node", "cwd.js"], cwd="sub", name="sub")
        assert in_sub.wait(20) == backend.ExitInfo(exit_code=0)
        assert in_sub.output().stdout == "/work/sub\n"
        program = sb.start(["node", "ok.js"])
        info = program.wait(20)
        assert info is not None and info.ok, (info, program.output())
        assert program.output().stdout.split() == [
            "42",
            "1000",
            "/work",
            "/node_modules/express/index.js",
        ]
        other = sb.start(["node", "-e", "process.exit(3)"], name="second")
        assert other.wait(20) == backend.ExitInfo(exit_code=3)
    assert_clean(engine, sb)


def test_express_server_answers_over_the_runs_own_network(engine: Any) -> None:
    server = (
        b"const app = require('express')();"
        b"app.get('/hi', (req, res) => res.json({ hi: process.env.GREETING }));"
        b"app.listen(process.env.PORT, () => console.log('listening'));"
    )
    client = (
        b"fetch('http://127.0.0.1:3000/hi').then(r => r.json())"
        b".then(j => console.log(JSON.stringify(j)))"
    )
    with _open({"server.js": server, "client.js": client}) as sb:
        program = sb.start(["node", "server.js"], env={"GREETING": "hola"}, name="server")
        assert wait_for_port(sb.netns_path, 3000, 15, alive=lambda: program.running)
        assert _http_get(sb, "/hi") == (200, b'{"hi":"hola"}')
        # A second program of the run shares its loopback.
        peer = sb.start(["node", "client.js"], name="client")
        info = peer.wait(20)
        assert info is not None and info.ok, peer.output()
        assert peer.output().stdout == '{"hi":"hola"}\n'
        # The runner lists a program's processes through init_pid; the init is left out.
        assert len(_ns_pids(program)) == 1
        program.kill()
        info = program.wait(10)
        assert info is not None and info.reason == "killed", info
        assert "listening" in program.output().stdout
    assert_clean(engine, sb)


def test_signal_reaches_the_main_process(engine: Any) -> None:
    graceful = (
        b"process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });"
        b"console.log('ready'); setInterval(() => {}, 1000);"
    )
    plain = b"console.log('ready'); setInterval(() => {}, 1000);"
    with _open({"g.js": graceful, "p.js": plain}) as sb:
        first = sb.start(["node", "g.js"], name="graceful")
        second = sb.start(["node", "p.js"], name="plain")
        for program in (first, second):
            deadline = time.monotonic() + 15
            while "ready" not in program.output().stdout and time.monotonic() < deadline:
                time.sleep(0.02)
            program.signal(signal.SIGTERM)
        assert first.wait(10) == backend.ExitInfo(exit_code=0)
        assert first.output().stdout == "ready\nbye\n"
        # Without a handler SIGTERM ends node: it is not PID 1 (the engine's init is).
        assert second.wait(10) == backend.ExitInfo(exit_code=None, signal=signal.SIGTERM)
    assert_clean(engine, sb)


def test_kill_takes_daemons_too(engine: Any) -> None:
    daemon = (
        b"const { spawn } = require('child_process');"
        b"spawn(process.execPath, ['-e', 'setTimeout(() => require(\"fs\")"
        b'.writeFileSync("/work/late.txt", "late"), 3000)\'],'
        b" { detached: true, stdio: 'ignore' }).unref();"
        b"console.log('started'); setInterval(() => {}, 1000);"
    )
    with _open({"d.js": daemon}) as sb:
        program = sb.start(["node", "d.js"])
        deadline = time.monotonic() + 15
        while "started" not in program.output().stdout and time.monotonic() < deadline:
            time.sleep(0.02)
        assert program.init_pid is not None
        assert len(_ns_pids(program)) == 2
        program.kill()
        assert program.wait(10) is not None
        time.sleep(3.5)
        with pytest.raises(FileNotFoundError):
            sb.read_file("late.txt")
    assert_clean(engine, sb)


# -- limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "limits", "reasons"),
    [
        ("memory_bomb.js", Limits(wall_seconds=15, memory_mb=128), {"memory"}),
        ("fork_bomb_node.js", Limits(wall_seconds=4, pids=40, memory_mb=256), {"pids"}),
        ("busy_loop.js", Limits(wall_seconds=2, cpu_seconds=30), {"wall"}),
        ("busy_loop.js", Limits(wall_seconds=10, cpu_seconds=1), {"cpu"}),
        ("sleep_forever.js", Limits(wall_seconds=1), {"wall"}),
    ],
    ids=["memory", "fork-bomb", "busy-wall", "busy-cpu", "sleep-wall"],
)
def test_limits_end_programs_with_a_reason(
    engine: Any, name: str, limits: Limits, reasons: set[str]
) -> None:
    with _open({"run.js": (HOSTILE / name).read_bytes()}, limits) as sb:
        program = sb.start(["node", "run.js"])
        info = program.wait(limits.wall_seconds + 15)
        assert info is not None, "the watchdog did not end it"
        assert info.reason in reasons, (info, program.output().stderr[-300:])
    assert_clean(engine, sb)


def test_the_memory_limit_holds_for_the_run_not_each_program(engine: Any) -> None:
    if engines.cgroup_driver(engine) != "cgroupfs":
        pytest.skip("per-run cgroups need an engine on the cgroupfs manager")
    # 2 x 80 MB resident in a run of 128 MB: one of the two must be OOM-killed.
    hog = (
        b"const b = Buffer.alloc(80 * 1024 * 1024, 1); console.log('holding');"
        b"setTimeout(() => console.log(b.length), 4000);"
    )
    with _open({"hog.js": hog}, Limits(memory_mb=128, wall_seconds=20)) as sb:
        first = sb.start(["node", "hog.js"], name="first")
        deadline = time.monotonic() + 15
        while "holding" not in first.output().stdout and time.monotonic() < deadline:
            time.sleep(0.02)
        second = sb.start(["node", "hog.js"], name="second")
        infos = [first.wait(20), second.wait(20)]
        assert [i is not None and i.reason for i in infos].count("memory") >= 1, infos
    assert_clean(engine, sb)


def test_output_is_capped(engine: Any) -> None:
    # hostile/stdout_flood.js writes 1 GB: the engine relays ~40 MB/s, too slow for a
    # test; 128 MB past a 64 KiB cap shows the same (kept prefix, drained rest).
    source = (HOSTILE / "stdout_flood.js").read_bytes().replace(b"i < 1024", b"i < 128")
    assert b"i < 128" in source
    limits = Limits(wall_seconds=30, output_bytes=64 * 1024)
    with _open({"run.js": source}, limits) as sb:
        program = sb.start(["node", "run.js"])
        info = program.wait(45)
        assert info is not None and info.ok, info
        out = program.output()
        assert out.stdout_truncated and out.stderr_truncated
        assert len(out.stdout) == 64 * 1024 and set(out.stdout) == {"a"}
    assert_clean(engine, sb)


# -- isolation --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["connect_postgres.js", "connect_redis.js"])
def test_no_network_but_its_own(engine: Any, name: str) -> None:
    with _open({"run.js": (HOSTILE / name).read_bytes()}, Limits(wall_seconds=10)) as sb:
        program = sb.start(["node", "run.js"])
        info = program.wait(20)
        assert info is not None and info.ok, (info, program.output())
        lines = program.output().stdout.splitlines()
        assert len(lines) == 4, lines
        for line in lines:
            assert line.split()[-1] in ("ECONNREFUSED", "ENETUNREACH", "EADDRNOTAVAIL"), line
    assert_clean(engine, sb)


def test_read_only_root_and_no_privileges(engine: Any) -> None:
    status = (
        b"const s = require('fs').readFileSync('/proc/self/status', 'utf8');"
        b"for (const k of ['CapEff', 'NoNewPrivs', 'Seccomp'])"
        b" console.log(s.match(new RegExp(k + ':\\\\s*(\\\\S+)'))[1]);"
        b"require('fs').writeFileSync('/tmp/ok', 'x'); console.log('tmp ok');"
    )
    with _open({"run.js": (HOSTILE / "write_outside.js").read_bytes(), "s.js": status}) as sb:
        program = sb.start(["node", "run.js"])
        info = program.wait(20)
        assert info is not None and info.ok, (info, program.output())
        for line in program.output().stdout.splitlines():
            assert line.split()[-1] in ("EROFS", "EACCES", "ENOENT", "EPERM"), line
        probe = sb.start(["node", "s.js"], name="status")
        assert probe.wait(20) == backend.ExitInfo(exit_code=0), probe.output()
        cap_eff, no_new_privs, seccomp_mode, tmp = probe.output().stdout.split("\n", 3)
        assert int(cap_eff, 16) == 0 and no_new_privs == "1" and tmp.strip() == "tmp ok"
        assert seccomp_mode == "2", "the engine's default seccomp profile is not applied"
    assert_clean(engine, sb)


def test_no_user_namespaces_nor_other_namespaces(engine: Any, tmp_path: Path) -> None:
    # podman's default seccomp profile lets uid 1000 unshare() a user namespace and be
    # root in it; the backend's profile denies it, as bubblewrap's filter does. The
    # image has no unshare(1): the host's (it needs only libc) is bound in for the test.
    host_unshare = Path("/usr/bin/unshare")
    if not host_unshare.exists():
        pytest.skip("util-linux's unshare is not installed")
    tools = tmp_path / "bin"
    tools.mkdir()
    shutil.copy(host_unshare, tools / "unshare")
    tmp_path.chmod(0o755)
    probe = (
        b"const { spawnSync } = require('child_process');"
        b"for (const a of [['-U', '-r'], ['-n'], ['-m'], ['-p', '-f']]) {"
        b"  const r = spawnSync('/opt/bin/unshare', [...a, '/usr/bin/node', '-e',"
        b"    'console.log(`INSIDE ${process.getuid()}`)'], { encoding: 'utf8' });"
        b"  console.log(a.join(' '), r.status, (r.stdout + r.stderr).trim());"
        b"}"
    )
    grant = ServiceGrant(binds=((str(tools), "/opt/bin"),))
    with open_sandbox(
        {"u.js": probe}, Limits(), runtime_dir=RUNTIME, backend="docker", grants=[grant]
    ) as sb:
        program = sb.start(["node", "u.js"])
        info = program.wait(20)
        assert info is not None and info.ok, (info, program.output())
        lines = program.output().stdout.splitlines()
        assert len(lines) == 4, lines
        for line in lines:
            assert "INSIDE" not in line and "Operation not permitted" in line, line
    assert isinstance(sb, backend.DockerSandbox)
    assert_clean(engine, sb)


def test_the_cgroup_watched_is_only_one_that_names_the_container(tmp_path: Path) -> None:
    """Read too early or too late, /proc/<pid>/cgroup names another cgroup (the root at
    worst, whose CPU usage is the machine's): nothing is watched rather than that."""
    cid = "4f" * 32
    for name in ("memory", "pids", "cpu", "cpuacct"):
        (tmp_path / name).mkdir()
    scope = tmp_path / f"machine.slice/libpod-{cid}.scope/container"
    scope.mkdir(parents=True)
    (scope / "memory.events").write_text("oom_kill 0\n")
    v2_line = f"0::/machine.slice/libpod-{cid}.scope/container"
    v1_lines = f"5:memory:/libpod_parent/libpod-{cid}\n3:cpu,cpuacct:/libpod_parent/libpod-{cid}"
    assert cgroups.container_cgroups(v2_line, cid, tmp_path) == ({}, scope)
    v1, v2 = cgroups.container_cgroups(v1_lines, cid, tmp_path)
    assert v2 is None and set(v1) == {"memory", "cpu", "cpuacct"}
    assert all(cid in str(path) for path in v1.values())
    # Too early or too late: the root, or some other process's cgroup.
    for other in ("0::/", "0::/user.slice/session-3.scope", "5:memory:/\n3:cpu,cpuacct:/"):
        assert cgroups.container_cgroups(other, cid, tmp_path) == ({}, None)


def test_the_seccomp_profile_denies_what_bwrap_denies() -> None:
    import json

    from taller_grader.sandbox.seccomp import DENIED

    profile = json.loads(seccomp.container_profile())
    allowed = {
        name
        for entry in profile["syscalls"]
        if entry["action"] == "SCMP_ACT_ALLOW" and not entry.get("args")
        for name in entry["names"]
    }
    assert not allowed & {*DENIED, "clone", "clone3"}
    denied = [e for e in profile["syscalls"] if set(DENIED) <= set(e["names"])]
    assert denied and denied[0]["action"] == "SCMP_ACT_ERRNO"
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"


def test_the_program_sees_only_its_own_environment(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "TALLER_CANARY_d0c4e7"
    monkeypatch.setenv(canary, canary)  # the worker's environment must not leak
    with _open({"run.js": (HOSTILE / "proc_environ.js").read_bytes()}) as sb:
        program = sb.start(["node", "run.js"])
        info = program.wait(20)
        assert info is not None and info.ok, (info, program.output())
        out = program.output().stdout
    assert canary not in out
    env = json.loads(next(line for line in out.splitlines() if line.startswith("ENV "))[4:])
    # The same names as under bubblewrap, the image adds nothing of its own; the engine
    # adds HOSTNAME (both), TERM and container=podman (podman), which say nothing secret.
    sandbox_env = {"PATH", "HOME", "LANG", "TZ", "PORT", "NODE_OPTIONS", "PWD"}
    assert set(env) <= sandbox_env | {"HOSTNAME", "TERM", "container"}, env
    pids = {line.split()[1] for line in out.splitlines() if line.startswith("PID ")}
    # The engine's init (1) and the program: no process of the host, nor of the holder.
    assert "1" in pids and len(pids) == 2, pids
    assert_clean(engine, sb)


def test_two_runs_cannot_reach_each_other(engine: Any) -> None:
    server = b"require('http').createServer((q, r) => r.end('secret')).listen(3000)"
    probe = (
        b"const s = require('net').connect(3000, '127.0.0.1');"
        b"s.on('connect', () => { console.log('CONNECTED'); process.exit(0); });"
        b"s.on('error', (e) => console.log(e.code));"
    )
    with _open({"s.js": server}) as victim:
        victim.start(["node", "s.js"])
        assert wait_for_port(victim.netns_path, 3000, 15)
        with _open({"p.js": probe}) as attacker:
            assert attacker.netns_path != victim.netns_path
            program = attacker.start(["node", "p.js"])
            assert program.wait(20) is not None
            assert program.output().stdout.strip() == "ECONNREFUSED"
    assert_clean(engine, victim)
    assert_clean(engine, attacker)


# -- files and cleanup ------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"../escape.js": b"1"},
        {"/abs.js": b"1"},
        {"node_modules/express/index.js": b"1"},
        {"package.json": b'{"dependencies": {"left-pad": "1"}}'},
    ],
    ids=["dotdot", "absolute", "node_modules", "foreign-module"],
)
def test_files_are_validated_before_any_container(engine: Any, files: dict[str, bytes]) -> None:
    before = len(_containers(engine))
    with pytest.raises(SubmissionRejected):
        _open(files)
    assert len(_containers(engine)) == before


def test_links_planted_by_the_program_are_refused(engine: Any) -> None:
    plant = b"require('fs').symlinkSync('/etc/hostname', '/work/out.txt'); console.log('planted')"
    with _open({"run.js": plant}) as sb:
        info = sb.start(["node", "run.js"]).wait(20)
        assert info is not None and info.ok
        with pytest.raises(OSError):
            sb.read_file("out.txt")
    assert_clean(engine, sb)


def test_close_is_idempotent(engine: Any) -> None:
    sb = _open({"s.js": b"setInterval(() => {}, 1000)"})
    sb.start(["node", "s.js"])
    assert len(_containers(engine, sb.name)) == 2  # the network holder and the program
    sb.close()
    sb.close()
    assert_clean(engine, sb)


def test_sweep_removes_only_dead_workers_runs(engine: Any) -> None:
    dead_pid = 2**22 + 1  # above the largest pid_max: never a live process
    runs = {
        "dead": (f"{backend.PREFIX}{dead_pid}-sweepme", dead_pid),
        "alive": (f"{backend.PREFIX}{os.getpid()}-keepme", os.getpid()),
    }
    for run_name, pid in runs.values():
        engine.api.create_container(
            engines.docker_image(),
            command=["sleep", "infinity"],
            labels={
                backend.LABEL_RUN: run_name,
                backend.LABEL_OWNER: f"{socket.gethostname()}:{pid}",
                backend.LABEL_ROLE: "net",
            },
            host_config=engine.api.create_host_config(network_mode="none", read_only=True),
        )
    try:
        removed = backend.sweep(client=engine)
        assert f"containers {runs['dead'][0]}" in removed
        assert _containers(engine, runs["dead"][0]) == []
        assert len(_containers(engine, runs["alive"][0])) == 1
    finally:
        for run_name, _ in runs.values():
            backend._remove_run_containers(engine, run_name)


SUITE = """
def test_hello(http):
    assert http.get("/hola").expect_json(200) == {"hola": "mundo"}

def test_missing(http):
    http.get("/nada").expect_status(404)
"""


def _grade_hola(suite_files: dict[str, str], on_events: Any = None) -> Results:
    """Grade an Express server answering GET /hola with `suite_files`, on this backend."""
    server = (
        b"const app = require('express')();"
        b"app.get('/hola', (req, res) => res.json({ hola: 'mundo' }));"
        b"app.listen(process.env.PORT);"
    )
    spec = ExerciseSpec(
        slug="docker-hello",
        programs=(ProgramSpec(name="server", command=("node", "server.js"), port=3000),),
        suite_files=suite_files,
        time_limit_seconds=30,
        startup_seconds=15,
    )
    config = RunnerConfig(runtime_dir=RUNTIME, sandbox_backend="docker")
    return grade(spec, {"server.js": server}, config, on_events=on_events)


def test_the_runner_grades_through_the_docker_backend(engine: Any) -> None:
    # The grader suite runs in a container of the run and reaches the server on its
    # loopback; the runner's own readiness checks go through netns_path.
    results = _grade_hola({"test_hello.py": SUITE})
    assert results.status is RunStatus.PASSED, (results.output, results.tests, results.stderr)
    assert _containers(engine) == []


# The suite's checks of its own confinement; the host facts it must not see are filled in.
CONFINED_SUITE = """
import ctypes, os, socket

import pytest

def test_it_runs_in_a_container_of_the_run(http):
    # The engine names a container's hostname and its cgroup after its id; the run's
    # server answers on this loopback.
    with open("/proc/self/cgroup", encoding="utf-8") as own:
        assert len(socket.gethostname()) >= 12 and socket.gethostname() in own.read()
    assert http.get("/hola").expect_json(200) == {{"hola": "mundo"}}

def test_it_has_its_own_pid_namespace_and_cgroup():
    assert os.getpid() < 20  # a fresh pid namespace's; the host's are past its kernel threads
    with open("/proc/1/cmdline", "rb") as init:
        assert {worker_cmdline!r} not in init.read()
    with open("/proc/self/cgroup", encoding="utf-8") as own:
        assert own.read() != {worker_cgroups!r}
    assert socket.gethostname() != {hostname!r}

def test_it_is_unprivileged_and_sees_no_host_file():
    assert os.getuid() == 2000 and os.getgid() == 2000
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    assert int(status["CapEff"], 16) == 0 and status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"
    assert not os.path.exists({host_secret!r})
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.unshare(0x10000000) == -1  # CLONE_NEWUSER

def test_its_root_is_read_only_and_its_memory_bounded():
    for path in ("/suite/x", "/x", "/usr/x"):
        with pytest.raises(OSError):
            open(path, "w")
    with pytest.raises(MemoryError):
        bytearray(3 << 30)
"""


def test_the_grader_suite_runs_confined_in_a_container(engine: Any) -> None:
    """Under the docker backend the suite is a container of the run, as confined as the
    students' programs: it sees none of the worker's processes, cgroup or files."""
    # A host file anyone may read, beside (not in) the grading package the suite is given.
    secret = ROOT / "pyproject.toml"
    assert secret.stat().st_mode & 0o004
    with open("/proc/self/cgroup", encoding="utf-8") as own:
        worker_cgroups = own.read()
    with open("/proc/self/cmdline", "rb") as cmdline:
        worker_cmdline = cmdline.read()
    suite = CONFINED_SUITE.format(
        worker_cmdline=worker_cmdline,
        worker_cgroups=worker_cgroups,
        hostname=socket.gethostname(),
        host_secret=str(secret),
    )
    seen: list[str] = []

    def during(events: Any) -> None:
        # While the suite runs, the engine lists it among the run's containers.
        seen.extend(
            (c.get("Labels") or {}).get(backend.LABEL_ROLE, "") for c in _containers(engine)
        )

    results = _grade_hola({"test_confined.py": suite}, on_events=during)
    assert results.status is RunStatus.PASSED, [(t.name, t.output) for t in results.tests]
    assert len(results.tests) == 4
    assert "grader" in seen, seen
    assert _containers(engine) == []
    assert not list(Path("/run/taller").glob(f"{backend.PREFIX}{os.getpid()}-*")), "dirs left"


@pytest.mark.skipif(
    not Path("/var/lib/taller/mongo-venv/bin/secantusd-py").exists(),
    reason="per-run services are not set up (scripts/setup-services.sh)",
)
def test_a_per_run_service_reaches_the_containers(engine: Any) -> None:
    # The services' forwarders listen inside netns_path: the holder's namespace.
    from taller_grader.runner import ServiceProvider
    from taller_grader.sandbox.services import PostgresConfig, ServicesConfig, build_services
    from tests.grading.test_services_in_runs import SERVER, STATE, SUITE_TEXT

    registry = build_services(
        ServicesConfig(postgres=PostgresConfig(state_dir=str(STATE / "postgres"), pool_size=0))
    )
    try:
        spec = ExerciseSpec(
            slug="docker-postgres",
            programs=(ProgramSpec(name="server", command=("node", "server.js")),),
            suite_files={"test_service.py": SUITE_TEXT["postgres"]},
            services=("postgres",),
            time_limit_seconds=40,
            startup_seconds=15,
        )
        config = RunnerConfig(
            runtime_dir=RUNTIME, services=ServiceProvider(registry), sandbox_backend="docker"
        )
        results = grade(spec, {"server.js": SERVER["postgres"].encode()}, config)
        assert results.status is RunStatus.PASSED, (results.output, results.stderr)
    finally:
        for service in registry.values():
            service.close()
    assert _containers(engine) == []


def test_an_engine_that_is_not_there_is_a_sandbox_error() -> None:
    with pytest.raises(SandboxError, match="no container engine"):
        engines.connect("unix:///nonexistent/docker.sock", timeout=2)


def test_bwrap_stays_the_default() -> None:
    import inspect

    from taller_grader.sandbox import open_sandbox as factory

    assert inspect.signature(factory).parameters["backend"].default == "bwrap"
    assert Path(backend.__file__).name == "docker.py"
