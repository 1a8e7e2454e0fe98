"""The production stack as processes: a Redis of its own, the site under gunicorn with the
production settings (as docker-compose.yml runs it), Celery workers and beat. Used by the
production-path tests and by bench/."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ASGI_APP = "taller.asgi:application"
GUNICORN_CONF = "python:taller.web.gunicorn_conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class RedisServer:
    """A redis-server of the tests' own, so restarting it disturbs nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, "redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def flush(self) -> None:
        """Empty it, as a new deployment's Redis is: each test's database starts anew, and
        the site's cache must not remember a previous test's exercises."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            assert sock.recv(16).startswith(b"+OK")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # no persistence: everything in it is lost, on purpose
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


# The server before gunicorn, kept for bench/scale.py to compare with: Daphne, without its
# own access log (the platform logs each request itself, JSON, with its id).
DAPHNE_LOGS = ("--access-log", "/dev/null")


def reuseport_listener(host: str, port: int) -> socket.socket:
    """A listening socket of one web process's own, sharing host:port with the others'
    (SO_REUSEPORT), as the launcher before gunicorn gave each Daphne process."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.set_inheritable(True)
    return listener


def base_env(database_url: str, redis_url: str, static_root: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "taller.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STATIC_ROOT": str(static_root),
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "0",
        "CONN_MAX_AGE": "0",
        "TALLER_HOME": str(REPO),
    }


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(
        self,
        name: str,
        argv: list[str],
        pass_fds: tuple[int, ...] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**os.environ, **self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 takes the children too
            pass_fds=pass_fds,
        )
        self.processes[name] = process
        return process

    def start_web(
        self,
        processes: int = 1,
        extra_env: Mapping[str, str] | None = None,
        server: str = "gunicorn",
        options: tuple[str, ...] = (),
    ) -> None:
        """The site on one port, in `processes` web processes, each accepting on a socket
        of its own (SO_REUSEPORT), as docker-compose.yml runs it: under gunicorn, or as
        Daphne processes (`server="daphne"`, the way before gunicorn, for bench/);
        `options`: gunicorn's own, after the configuration's."""
        self.port = free_port()
        if server == "gunicorn":
            self.spawn(
                "web",
                [
                    str(BIN / "gunicorn"),
                    *("-c", GUNICORN_CONF),
                    *("--bind", f"127.0.0.1:{self.port}"),
                    *("--workers", str(processes)),
                    *options,
                ],
                extra_env=extra_env,
            )
            # Every process up, not only the first: each has connections of its own.
            wait_until(lambda: len(self.web_pids()) == processes + 1, 60, "gunicorn's workers")
        elif server == "daphne":
            # A listening socket each, on one port: the kernel spreads the connections
            # over them as a balancer spreads them over hosts.
            for n in range(processes):
                listener = reuseport_listener("127.0.0.1", self.port)
                self.spawn(
                    "web" if n == 0 else f"web{n + 1}",
                    [str(BIN / "daphne"), "--fd", str(listener.fileno()), *DAPHNE_LOGS, ASGI_APP],
                    pass_fds=(listener.fileno(),),
                    extra_env=extra_env,
                )
                listener.close()  # the child holds it
        else:
            raise ValueError(f"no such web server: {server}")
        wait_until(lambda: self._get_status("/healthz") == 200, 60, "the site")

    def web_pids(self) -> list[int]:
        """The web processes' ids, gunicorn's parent and its workers included."""
        pids = []
        for name, process in self.processes.items():
            if name.startswith("web") and process.poll() is None:
                pids.append(process.pid)
                children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
                with contextlib.suppress(OSError):
                    pids += [int(pid) for pid in children.read_text().split()]
        return pids

    def start_worker(
        self, name: str, concurrency: int = 1, host: str = "%h", queues: str = "grading"
    ) -> None:
        """A Celery worker; `host` names it as if it ran on another machine."""
        self.spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "taller",
                "worker",
                "-Q",
                queues,
                "-c",
                str(concurrency),
                "-n",
                f"{name}@{host}",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
        )
        wait_until(lambda: b"ready." in (self.logs / f"{name}.log").read_bytes(), 30, name)

    def start_beat(self, interval: float) -> None:
        """Beat and the reaper's own queue in one process, as deployed (README)."""
        self.spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "taller",
                "worker",
                "-B",
                "-Q",
                "reaper",
                "-c",
                "1",
                "-n",
                "reaper@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
                "-s",
                str(self.logs / "beat-schedule"),
            ],
            extra_env={"TALLER_REAPER_INTERVAL": str(interval)},
        )

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    def _get_status(self, path: str) -> int:
        return get_status(self.port, path)


def get_status(port: int, path: str, timeout: float = 1) -> int:
    """The status of a GET on a fresh connection; 0 when nothing answers."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        finally:
            conn.close()
    except OSError:
        return 0


class Browser:
    """Just enough of a browser: cookies (Secure ones too, over plain HTTP), CSRF."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, str] | None = None,
        json_api: bool = False,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie_header(), "Origin": f"http://127.0.0.1:{self.port}"}
        headers.update(extra_headers or {})
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        if json_api:
            headers["Accept"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                jar: SimpleCookie = SimpleCookie()
                jar.load(value)
                self.cookies.update({k: m.value for k, m in jar.items()})
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def sign_in(self, username: str, password: str) -> None:
        self.request("GET", "/entrar/")
        status, _headers, _ = self.request(
            "POST",
            "/entrar/",
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            },
        )
        assert status == 302 and "sessionid" in self.cookies, f"sign-in failed ({status})"

    def submit(
        self, slug: str, files: dict[str, str], request_id: str | None = None
    ) -> dict[str, Any]:
        self.request("GET", f"/ejercicios/{slug}/")
        status, _, body = self.request(
            "POST",
            f"/ejercicios/{slug}/",
            {f"file:{path}": text for path, text in files.items()},
            json_api=True,
            extra_headers={"X-Request-ID": request_id} if request_id else None,
        )
        assert status == 202, f"submit answered {status}: {body[:300]!r}"
        answer: dict[str, Any] = json.loads(body)
        return answer

    def websocket(self, path: str) -> Any:
        from websockets.sync.client import connect
        from websockets.typing import Origin

        return connect(
            f"ws://127.0.0.1:{self.port}{path}",
            additional_headers={"Cookie": self.cookie_header()},
            origin=Origin(f"http://127.0.0.1:{self.port}"),
            open_timeout=10,
        )
