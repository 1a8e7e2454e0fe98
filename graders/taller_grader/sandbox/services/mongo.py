"""A MongoDB database of its own for each run.

Two ways, chosen by configuration:

- `uri` set (production): a real MongoDB. Per run, a database and a user that owns only
  that database; a forwarder in the run's namespace relays 127.0.0.1:27017 to it.
- `uri` unset (single machine, CI): no mongod can be installed here, so each run gets a
  wire-compatible server of its own (SecantusDB), started *inside* the run's network
  namespace, as an unprivileged user, its data in a fresh directory removed afterwards.
  Nobody else can reach it, so it needs no credentials. The grader, on the host, reaches
  it through a forwarder the other way round, on an ephemeral host port.

Why SecantusDB and not nx-27017 (both from PyPI, both pass a Mongoose smoke test): only
SecantusDB answers a duplicate key as MongoDB does (`E11000 duplicate key error ...`,
`keyPattern`, `keyValue`, index named `email_1`), and a correct student may rely on any
of those. It is GPL and beta: it runs as a separate program from its own virtualenv
(scripts/setup-services.sh), never imported by the platform.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pymongo import MongoClient
from pymongo.uri_parser import parse_uri

from taller_grader.sandbox.api import ServiceGrant
from taller_grader.sandbox.services.base import (
    DEFAULT_PREFIX,
    DEFAULT_SWEEP_AGE,
    ServiceError,
    alive,
    is_stale,
    kill_group,
    new_name,
    new_password,
    release_all,
    stale,
    sweep_server_dirs,
)
from taller_grader.sandbox.services.netns import Forwarder, socket_in_netns

DEFAULT_SERVER_ARGV = ("/var/lib/taller/mongo-venv/bin/secantusd-py",)


@dataclass(frozen=True, slots=True)
class MongoConfig:
    # Production: an admin URI of a real MongoDB (a user allowed to create users and drop
    # databases). None: a SecantusDB server per run.
    uri: str | None = None
    # The per-run server's command, before the flags this module adds.
    server_argv: Sequence[str] = field(default_factory=lambda: DEFAULT_SERVER_ARGV)
    state_dir: str = "/var/lib/taller/services/mongo"
    run_as_user: str | None = "nobody"  # None: the runner's own user
    port: int = 27017  # the port the student's program sees on its loopback
    start_timeout: float = 10.0
    # WiredTiger's cache per server (SecantusDB's default is 1G): runs hold a few rows.
    cache_size: str = "64M"
    # Fork each server from a launcher that has imported SecantusDB once (mongo_launcher
    # .py, ~50 ms a start) instead of executing `server_argv` (~0.5 s). The launcher runs
    # `launcher_python`, by default the `python` beside server_argv[0].
    prefork: bool = True
    launcher_python: str | None = None
    prefix: str = DEFAULT_PREFIX
    sweep_age_seconds: float = DEFAULT_SWEEP_AGE


@dataclass(slots=True)
class _Run:
    name: str
    db: str
    student_uri: str
    grader_uri: str
    forwarder: Forwarder | None = None
    pid: int | None = None  # the server's, also its process group's
    process: subprocess.Popen[bytes] | None = None  # when started by exec, not by fork
    directory: Path | None = None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped


def _wait_port(netns_path: str | None, port: int, pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        s = socket_in_netns(netns_path)
        try:
            s.settimeout(0.5)
            s.connect(("127.0.0.1", port))
            return
        except OSError:
            pass
        finally:
            s.close()
        if not alive(pid):
            raise ServiceError("the MongoDB server exited during start-up")
        if time.monotonic() > deadline:
            raise ServiceError(f"the MongoDB server did not listen within {timeout} s")
        time.sleep(0.005)


class _Launcher:
    """The runner's end of mongo_launcher.py: one long-lived process, one request at a
    time (a lock), restarted if it died."""

    SCRIPT = str(Path(__file__).with_name("mongo_launcher.py"))

    def __init__(self, python: str, log: Path) -> None:
        self.python = python
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline() if ready else b""
        if not line:
            self._stop()
            raise ServiceError(f"the MongoDB launcher did not answer (see {self.log})")
        reply = json.loads(line)
        assert isinstance(reply, dict)
        return reply

    def _ensure(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - argv from the platform's config
                [self.python, self.SCRIPT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
            )
        self._read(timeout=30)

    def spawn(self, request: dict[str, object]) -> int:
        with self._lock:
            self._ensure()
            assert self._proc is not None and self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps(request).encode() + b"\n")
                self._proc.stdin.flush()
            except OSError as exc:
                self._stop()
                raise ServiceError(f"the MongoDB launcher died: {exc}") from exc
            reply = self._read(timeout=10)
        if "pid" not in reply:
            raise ServiceError(f"the MongoDB launcher failed: {reply.get('error')}")
        return int(reply["pid"])

    def _stop(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()


class MongoService:
    name = "mongo"

    def __init__(self, cfg: MongoConfig) -> None:
        self.cfg = cfg
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._client: MongoClient[dict[str, Any]] | None = None
        self._launcher: _Launcher | None = None
        self._template_lock = threading.Lock()
        if cfg.uri is None and cfg.prefork:
            python = cfg.launcher_python or str(Path(cfg.server_argv[0]).with_name("python"))
            self._launcher = _Launcher(python, Path(cfg.state_dir) / "launcher.log")

    def start(self) -> None:
        """Start the launcher now rather than on the first run (it takes ~0.5 s)."""
        if self._launcher is not None:
            with self._launcher._lock:
                self._launcher._ensure()

    # -- a server per run (no MongoDB installed) --------------------------------------

    def _ids(self) -> tuple[int, int] | None:
        if self.cfg.run_as_user is None or os.geteuid() != 0:
            return None
        pw = pwd.getpwnam(self.cfg.run_as_user)
        return pw.pw_uid, pw.pw_gid

    def _template(self) -> Path:
        """A data directory as a fresh server leaves it, made once per server install.

        Creating a WiredTiger home costs ~0.25 s; opening a copy of one ~0.07 s.
        """
        root = Path(self.cfg.state_dir)
        version = os.stat(self.cfg.server_argv[0]).st_mtime_ns
        template = root / f"template-{version}"
        with self._template_lock:
            if template.is_dir():
                return template
            building = root / f"building-{new_name(self.cfg.prefix)}"
            building.mkdir(parents=True)
            (building / "empty.toml").write_text("")
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            proc = subprocess.Popen(  # noqa: S603 - argv from the platform's config
                [
                    *self.cfg.server_argv,
                    "--config",
                    str(building / "empty.toml"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--storage-path",
                    str(building / "data"),
                    "--standalone",
                    "--log-level",
                    "WARNING",
                ],
                cwd=building,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin", "HOME": str(building), "LANG": "C.UTF-8"},
            )
            try:
                _wait_port(None, port, proc.pid, self.cfg.start_timeout)
                # Listening is not yet serving: a SIGTERM in between can be lost.
                client: MongoClient[dict[str, Any]] = MongoClient(
                    port=port, directConnection=True, serverSelectionTimeoutMS=10000
                )
                with client:
                    client.admin.command("ping")
            finally:
                # A clean stop, so that each copy opens without recovery.
                for _ in range(3):
                    proc.terminate()
                    try:
                        proc.wait(timeout=5)
                        break
                    except subprocess.TimeoutExpired:
                        continue
                else:
                    proc.kill()
                    proc.wait()
            if proc.returncode not in (0, -signal.SIGTERM):
                shutil.rmtree(building, ignore_errors=True)
                raise ServiceError(f"the template MongoDB server failed ({proc.returncode})")
            (building / "data" / "WiredTiger.lock").unlink(missing_ok=True)
            for old in root.glob("template-*"):
                if old != template:  # a former install's
                    shutil.rmtree(old, ignore_errors=True)
            try:
                (building / "data").rename(template)
            except OSError:
                # Another worker sharing the state dir made it first.
                if not template.is_dir():
                    raise
            shutil.rmtree(building, ignore_errors=True)
            return template

    def _start_local(self, name: str, netns_path: str) -> _Run:
        root = Path(self.cfg.state_dir)
        root.mkdir(parents=True, exist_ok=True)
        # Traversable, not listable: the unprivileged servers reach their own dirs only.
        os.chmod(root, 0o711)  # noqa: S103
        template = self._template()
        directory = root / name
        directory.mkdir(mode=0o700)
        config = directory / "secantusd.toml"
        # An explicit empty config: without --config the server reads ./, ~/ and /etc/.
        config.write_text("")
        shutil.copytree(template, directory / "data")
        ids = self._ids()
        if ids is not None:
            for path in (directory, config, directory / "data", *(directory / "data").iterdir()):
                os.chown(path, *ids)
        server_args = [
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.cfg.port),
            "--storage-path",
            str(directory / "data"),
            "--standalone",
            "--log-level",
            "WARNING",
            "--cache-size",
            self.cfg.cache_size,
        ]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(directory), "LANG": "C.UTF-8"}
        run = _Run(name=name, db=name, student_uri="", grader_uri="", directory=directory)
        try:
            if self._launcher is not None:
                run.pid = self._launcher.spawn(
                    {
                        "argv": server_args,
                        "netns": netns_path,
                        "uid": None if ids is None else ids[0],
                        "gid": None if ids is None else ids[1],
                        "cwd": str(directory),
                        "log": str(directory / "server.log"),
                        "env": env,
                    }
                )
            else:
                run.process = self._exec(netns_path, ids, server_args, directory, env)
                run.pid = run.process.pid
            (directory / "server.pid").write_text(f"{run.pid}\n")
            _wait_port(netns_path, self.cfg.port, run.pid, self.cfg.start_timeout)
            run.forwarder = Forwarder(
                ("127.0.0.1", 0),
                ("127.0.0.1", self.cfg.port),
                target_ns=netns_path,
                name=f"mongo-{name}",
            )
        except (OSError, ServiceError) as exc:
            self._stop_local(run)
            raise ServiceError(f"could not start the run's MongoDB: {exc}") from exc
        run.student_uri = f"mongodb://127.0.0.1:{self.cfg.port}/{run.db}"
        run.grader_uri = f"mongodb://127.0.0.1:{run.forwarder.port}/{run.db}?directConnection=true"
        return run

    def _exec(
        self,
        netns_path: str,
        ids: tuple[int, int] | None,
        server_args: list[str],
        directory: Path,
        env: dict[str, str],
    ) -> subprocess.Popen[bytes]:
        argv = [
            "nsenter",
            f"--net={netns_path}",
            "--",
            *(
                ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", "--"]
                if ids is not None
                else []
            ),
            *self.cfg.server_argv,
            *server_args,
        ]
        with open(directory / "server.log", "wb") as log:
            return subprocess.Popen(  # noqa: S603 - argv from the platform's config
                argv,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _stop_local(self, run: _Run) -> None:
        if run.forwarder is not None:
            run.forwarder.close()
        if run.pid is not None:
            kill_group(run.pid, run.process)
        if run.directory is not None:
            shutil.rmtree(run.directory, ignore_errors=True)

    # -- a real MongoDB (production) ----------------------------------------------------

    def _admin(self) -> MongoClient[dict[str, Any]]:
        assert self.cfg.uri is not None
        if self._client is None:
            self._client = MongoClient(self.cfg.uri, serverSelectionTimeoutMS=5000)
        return self._client

    def _start_remote(self, name: str, netns_path: str) -> _Run:
        assert self.cfg.uri is not None
        client = self._admin()
        password = new_password()
        host, port = parse_uri(self.cfg.uri)["nodelist"][0]
        db = client[name]
        try:
            db.command("createUser", name, pwd=password, roles=[{"role": "dbOwner", "db": name}])
        except Exception as exc:
            raise ServiceError(f"could not create the run's MongoDB user: {exc}") from exc
        auth = f"{quote(name)}:{password}@"
        opts = f"authSource={name}&directConnection=true"
        run = _Run(
            name=name,
            db=name,
            student_uri=f"mongodb://{auth}127.0.0.1:{self.cfg.port}/{name}?{opts}",
            grader_uri=f"mongodb://{auth}{host}:{port}/{name}?{opts}",
        )
        try:
            run.forwarder = Forwarder(
                ("127.0.0.1", self.cfg.port),
                (host, port),
                listen_ns=netns_path,
                name=f"mongo-{name}",
            )
        except OSError as exc:
            self._drop_remote(name)
            raise ServiceError(f"could not expose MongoDB in the run: {exc}") from exc
        return run

    def _drop_remote(self, name: str) -> None:
        client = self._admin()
        try:
            client.drop_database(name)
            # Users live in admin.system.users; dropping their database leaves them.
            client[name].command("dropAllUsersFromDatabase")
        except Exception as exc:
            raise ServiceError(f"could not drop {name}: {exc}") from exc

    # -- RunService ---------------------------------------------------------------------

    def provision(self, run_id: str, netns_path: str) -> ServiceGrant:
        with self._lock:
            if run_id in self._runs:
                raise ServiceError(f"run {run_id} already has a MongoDB")
        name = new_name(self.cfg.prefix)
        if self.cfg.uri is None:
            run = self._start_local(name, netns_path)
        else:
            run = self._start_remote(name, netns_path)
        with self._lock:
            self._runs[run_id] = run
        return ServiceGrant(env={"MONGODB_URI": run.student_uri})

    def grader_env(self, run_id: str) -> Mapping[str, str]:
        run = self._runs[run_id]
        return {"MONGODB_URI": run.grader_uri, "MONGODB_DB": run.db}

    def release(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        if self.cfg.uri is None:
            self._stop_local(run)
        else:
            if run.forwarder is not None:
                run.forwarder.close()
            self._drop_remote(run.name)

    def sweep(self, min_age_seconds: float | None = None) -> list[str]:
        age = self.cfg.sweep_age_seconds if min_age_seconds is None else min_age_seconds
        with self._lock:
            live = {r.name for r in self._runs.values()}
        removed: list[str] = []
        if self.cfg.uri is None:
            root = Path(self.cfg.state_dir)
            for d in root.glob("building-*"):
                if is_stale(d.name.removeprefix("building-"), self.cfg.prefix, age):
                    shutil.rmtree(d, ignore_errors=True)  # a template half made
            return sweep_server_dirs(root, live, self.cfg.prefix, age, "server.pid")
        client = self._admin()
        names = set(client.list_database_names())
        users = client["admin"]["system.users"].find(
            {"db": {"$regex": "^" + self.cfg.prefix}}, {"db": 1}
        )
        names |= {str(u["db"]) for u in users}
        removed = stale(names, live, self.cfg.prefix, age)
        for name in removed:
            self._drop_remote(name)
        return removed

    def close(self) -> None:
        release_all(self, self._runs)
        if self._launcher is not None:
            self._launcher.close()
        if self._client is not None:
            self._client.close()
            self._client = None
