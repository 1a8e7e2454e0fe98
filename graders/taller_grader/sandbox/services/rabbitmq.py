"""A RabbitMQ virtual host of its own for each run.

Per run: a vhost and a user whose permissions cover that vhost only, with no management
tag, created through the management HTTP API (about ten times faster than rabbitmqctl,
which boots an Erlang VM per call). A forwarder in the run's namespace relays
127.0.0.1:5672 to the broker, so the seed's `amqp://localhost` habits work and nothing
else on the host is reachable. The grader consumes from the same vhost, straight on the
broker, with the same credentials (`grader_env`).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from taller_grader.sandbox.api import ServiceGrant
from taller_grader.sandbox.services.base import (
    DEFAULT_PREFIX,
    DEFAULT_SWEEP_AGE,
    ServiceError,
    new_name,
    new_password,
    release_all,
    stale,
)
from taller_grader.sandbox.services.netns import Forwarder, GateRejected

_AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


class AmqpUserGate:
    """Lets a connection through only if it logs in as the run's own user.

    Behind the forwarder every run's connection comes from the host's loopback, where
    RabbitMQ lets `guest` in, and the management API grants its acting admin every
    vhost it creates: without this gate a run could log in as either and read other
    runs' queues. The gate reads the protocol header and Connection.StartOk (the
    client's first frame, sent before anything else) and checks the PLAIN or AMQPLAIN user.
    """

    MAX_FRAME = 64 * 1024

    def __init__(self, user: str) -> None:
        self.user = user.encode()
        self._buf = bytearray()
        self._header_done = False
        self._done = False

    def feed(self, data: bytes) -> bytes:
        if self._done:
            return data
        self._buf += data
        out = b""
        if not self._header_done:
            if len(self._buf) < len(_AMQP_HEADER):
                return out
            if bytes(self._buf[:8]) != _AMQP_HEADER:
                raise GateRejected("not AMQP 0-9-1")
            out, self._buf = bytes(self._buf[:8]), self._buf[8:]
            self._header_done = True
        if len(self._buf) < 7:
            return out
        ftype, _channel, size = struct.unpack(">BHI", self._buf[:7])
        if ftype != 1 or size > self.MAX_FRAME:
            raise GateRejected("expected a method frame")
        if len(self._buf) < 8 + size:
            return out
        self._check_start_ok(bytes(self._buf[7 : 7 + size]))
        self._done = True
        out += bytes(self._buf)
        self._buf = bytearray()
        return out

    def _check_start_ok(self, p: bytes) -> None:
        try:
            cls, method = struct.unpack(">HH", p[:4])
            if (cls, method) != (10, 11):
                raise GateRejected("expected Connection.StartOk")
            pos = 4
            (table,) = struct.unpack(">I", p[pos : pos + 4])
            pos += 4 + table
            mech = p[pos + 1 : pos + 1 + p[pos]]
            pos += 1 + p[pos]
            (rlen,) = struct.unpack(">I", p[pos : pos + 4])
            response = p[pos + 4 : pos + 4 + rlen]
        except (struct.error, IndexError) as exc:
            raise GateRejected("malformed Connection.StartOk") from exc
        if mech == b"PLAIN":
            parts = response.split(b"\x00")
            if len(parts) != 3 or parts[1] != self.user or parts[0] not in (b"", self.user):
                raise GateRejected("not the run's user")
        elif mech == b"AMQPLAIN":  # py-amqp's default: a field table without its length
            if _amqplain_login(response) != self.user:
                raise GateRejected("not the run's user")
        else:
            raise GateRejected("only PLAIN and AMQPLAIN logins")


def _amqplain_login(table: bytes) -> bytes | None:
    pos, login = 0, None
    try:
        while pos < len(table):
            key = table[pos + 1 : pos + 1 + table[pos]]
            pos += 1 + table[pos]
            kind = table[pos : pos + 1]
            pos += 1
            if kind != b"S":
                raise GateRejected("unexpected AMQPLAIN field")
            (size,) = struct.unpack(">I", table[pos : pos + 4])
            value = table[pos + 4 : pos + 4 + size]
            pos += 4 + size
            if key == b"LOGIN":
                if login is not None:
                    raise GateRejected("two logins")
                login = value
    except (struct.error, IndexError) as exc:
        raise GateRejected("malformed AMQPLAIN response") from exc
    return login


@dataclass(frozen=True, slots=True)
class RabbitConfig:
    api_url: str = "http://127.0.0.1:15672"  # the management plugin's HTTP API
    admin_user: str = "guest"  # an `administrator` user; guest works on loopback only
    admin_password: str = "guest"  # noqa: S105 - the broker's well-known default
    amqp_host: str = "127.0.0.1"  # the broker's AMQP listener, as the runner reaches it
    amqp_port: int = 5672
    port: int = 5672  # the port the student's program sees on its loopback
    max_connections: int = 50  # per vhost: a runaway loop must not exhaust the broker
    max_queues: int = 100
    prefix: str = DEFAULT_PREFIX
    sweep_age_seconds: float = DEFAULT_SWEEP_AGE


@dataclass(slots=True)
class _Run:
    name: str
    password: str
    forwarder: Forwarder | None = None


class RabbitMQService:
    name = "rabbitmq"

    def __init__(self, cfg: RabbitConfig) -> None:
        self.cfg = cfg
        url = urlsplit(cfg.api_url)
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 15672
        self._base = url.path.rstrip("/")
        token = base64.b64encode(f"{cfg.admin_user}:{cfg.admin_password}".encode()).decode()
        self._auth = f"Basic {token}"
        self._http: http.client.HTTPConnection | None = None
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def _api(self, method: str, path: str, body: object | None = None) -> object:
        """One API call on a kept-alive connection (a new TCP connection per call costs
        as much as the call itself). Retried once on a connection the broker closed."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        for attempt in (1, 2):
            if self._http is None:
                self._http = http.client.HTTPConnection(self._host, self._port, timeout=10)
            try:
                self._http.request(method, self._base + path, body=data, headers=headers)
                resp = self._http.getresponse()
                payload = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self._http.close()
                self._http = None
                if attempt == 2:
                    raise ServiceError(f"RabbitMQ management API unreachable: {exc}") from exc
                continue
            if method == "DELETE" and resp.status == 404:
                return None
            if resp.status >= 300:
                raise ServiceError(f"RabbitMQ API {method} {path}: {resp.status} {payload[:300]!r}")
            return json.loads(payload) if payload else None
        raise AssertionError("unreachable")

    def _create(self, name: str, password: str) -> None:
        v = quote(name, safe="")
        self._api("PUT", f"/api/vhosts/{v}", {})
        self._api("PUT", f"/api/users/{v}", {"password": password, "tags": ""})
        self._api(
            "PUT",
            f"/api/permissions/{v}/{v}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
        # The API gave the acting admin every right on the new vhost; runs need none of it.
        admin = quote(self.cfg.admin_user, safe="")
        self._api("DELETE", f"/api/permissions/{v}/{admin}")
        self._api(
            "PUT", f"/api/vhost-limits/{v}/max-connections", {"value": self.cfg.max_connections}
        )
        self._api("PUT", f"/api/vhost-limits/{v}/max-queues", {"value": self.cfg.max_queues})

    def _delete(self, name: str) -> None:
        v = quote(name, safe="")
        # Deleting the vhost closes its connections and removes its queues.
        self._api("DELETE", f"/api/vhosts/{v}")
        self._api("DELETE", f"/api/users/{v}")

    def provision(self, run_id: str, netns_path: str) -> ServiceGrant:
        run = _Run(new_name(self.cfg.prefix), new_password())
        with self._lock:
            if run_id in self._runs:
                raise ServiceError(f"run {run_id} already has a vhost")
            try:
                self._create(run.name, run.password)
            except ServiceError:
                with contextlib.suppress(ServiceError):
                    self._delete(run.name)
                raise
            self._runs[run_id] = run
        try:
            run.forwarder = Forwarder(
                ("127.0.0.1", self.cfg.port),
                (self.cfg.amqp_host, self.cfg.amqp_port),
                listen_ns=netns_path,
                gate=lambda: AmqpUserGate(run.name),
                name=f"amqp-{run.name}",
            )
        except OSError as exc:
            self.release(run_id)
            raise ServiceError(f"could not expose RabbitMQ in the run: {exc}") from exc
        return ServiceGrant(env={"AMQP_URL": self._url(run, "127.0.0.1", self.cfg.port)})

    @staticmethod
    def _url(run: _Run, host: str, port: int) -> str:
        return f"amqp://{run.name}:{run.password}@{host}:{port}/{quote(run.name, safe='')}"

    def grader_env(self, run_id: str) -> Mapping[str, str]:
        run = self._runs[run_id]
        return {
            "AMQP_URL": self._url(run, self.cfg.amqp_host, self.cfg.amqp_port),
            "AMQP_VHOST": run.name,
        }

    def release(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                return
            if run.forwarder is not None:
                run.forwarder.close()
            self._delete(run.name)

    def sweep(self, min_age_seconds: float | None = None) -> list[str]:
        age = self.cfg.sweep_age_seconds if min_age_seconds is None else min_age_seconds
        with self._lock:
            live = {r.name for r in self._runs.values()}
            names: set[str] = set()
            for kind in ("vhosts", "users"):
                items = self._api("GET", f"/api/{kind}?columns=name")
                assert isinstance(items, list)
                names |= {str(i["name"]) for i in items}
            removed = stale(names, live, self.cfg.prefix, age)
            for name in removed:
                self._delete(name)
            return removed

    def close(self) -> None:
        release_all(self, self._runs)
        if self._http is not None:
            self._http.close()
            self._http = None
