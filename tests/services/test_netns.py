from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from taller_grader.sandbox.services import (
    SERVICE_NAMES,
    Forwarder,
    RunService,
    ServicesConfig,
    build_services,
    socket_in_netns,
)
from taller_grader.sandbox.services.base import name_age, new_name
from taller_grader.sandbox.services.netns import GateRejected
from taller_grader.sandbox.services.rabbitmq import AmqpUserGate

from .conftest import Netns


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """A host server that answers each connection with the sha256 of all it received,
    once the client half-closes: proves every byte and the half-close get through."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def handle(c: socket.socket) -> None:
        h = hashlib.sha256()
        with c:
            while chunk := c.recv(65536):
                h.update(chunk)
            c.sendall(h.hexdigest().encode() + os.urandom(1 << 20))

    def serve() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()
    stop.set()
    srv.close()


def _client_in(ns: Netns, port: int) -> socket.socket:
    s = socket_in_netns(ns.path)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def test_forwarder_relays_everything_into_the_namespace(
    make_netns: Callable[[], Netns], echo_server: tuple[str, int]
) -> None:
    ns = make_netns()
    fwd = Forwarder(("127.0.0.1", 7000), echo_server, listen_ns=ns.path)
    try:
        payload = os.urandom(5 * 1024 * 1024)
        results: list[bytes] = []

        def one() -> None:
            with _client_in(ns, 7000) as s:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
                results.append(got)

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        digest = hashlib.sha256(payload).hexdigest().encode()
        assert len(results) == 4
        assert all(r[:64] == digest and len(r) == 64 + (1 << 20) for r in results)
        # Only inside the namespace: the host's 127.0.0.1:7000 has nothing.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", 7000), timeout=2)
    finally:
        fwd.close()
    with pytest.raises(ConnectionRefusedError):
        _client_in(ns, 7000)
    fwd.close()


def test_forwarder_out_of_the_namespace_and_target_down(make_netns: Callable[[], Netns]) -> None:
    ns = make_netns()
    # Reverse: listen on the host, reach a server that lives only in the namespace.
    srv = socket_in_netns(ns.path)
    srv.bind(("127.0.0.1", 9000))
    srv.listen()
    fwd = Forwarder(("127.0.0.1", 0), ("127.0.0.1", 9000), target_ns=ns.path)
    try:
        with socket.create_connection(("127.0.0.1", fwd.port), timeout=5) as c:
            s, _ = srv.accept()
            c.sendall(b"ping")
            assert s.recv(4) == b"ping"
            s.sendall(b"pong")
            assert c.recv(4) == b"pong"
            s.close()
            assert c.recv(1) == b""  # the server's close reaches the client
        srv.close()
        # The target gone: the client's connection is closed at once, not left hanging.
        with socket.create_connection(("127.0.0.1", fwd.port), timeout=5) as c:
            c.settimeout(5)
            with contextlib.suppress(ConnectionResetError):
                assert c.recv(1) == b""
    finally:
        fwd.close()


def _start_ok(user: bytes, mech: bytes = b"PLAIN") -> bytes:
    table = b"\x07product\x53\x00\x00\x00\x04test"
    resp = b"\x00" + user + b"\x00secret"
    payload = (
        struct.pack(">HH", 10, 11)
        + struct.pack(">I", len(table))
        + table
        + bytes([len(mech)])
        + mech
        + struct.pack(">I", len(resp))
        + resp
        + b"\x05en_US"
    )
    return struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce"


def test_amqp_gate() -> None:
    header = b"AMQP\x00\x00\x09\x01"
    g = AmqpUserGate("tlr_x")
    # The header passes at once (the server must answer it), the rest only once judged.
    assert g.feed(header[:3]) == b""
    assert g.feed(header[3:]) == header
    frame = _start_ok(b"tlr_x")
    assert g.feed(frame[:10]) == b""
    assert g.feed(frame[10:] + b"more") == frame + b"more"
    assert g.feed(b"anything") == b"anything"
    for bad in (_start_ok(b"guest"), _start_ok(b"tlr_x", b"AMQPLAIN"), b"\x08" + b"x" * 20):
        g = AmqpUserGate("tlr_x")
        g.feed(header)
        with pytest.raises(GateRejected):
            g.feed(bad)
    with pytest.raises(GateRejected):
        AmqpUserGate("tlr_x").feed(b"GET / HTTP/1.1\r\n")


def test_names_and_registry() -> None:
    n = new_name("tlr_")
    age = name_age(n, "tlr_")
    assert age is not None and 0 <= age < 5
    assert name_age("tlr_nothex_abc", "tlr_") is None and name_age("other", "tlr_") is None
    services = build_services(ServicesConfig())
    assert tuple(services) == SERVICE_NAMES
    for name, svc in services.items():
        assert isinstance(svc, RunService) and svc.name == name
