"""Sockets in another network namespace, and a TCP forwarder between two namespaces.

A run's program sees only its own loopback. To give it one service and nothing else,
the runner listens on 127.0.0.1:PORT *inside* the run's namespace and relays each
connection to the real server on the host. A socket belongs to the namespace of the
thread that created it, for its whole life, so only creation needs `setns()`: it is done
in a short-lived thread, which leaves the caller's namespace untouched.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import selectors
import socket
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

_CLONE_NEWNET = 0x40000000
_T = TypeVar("_T")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    # os.setns exists only from Python 3.12.
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def in_netns(netns_path: str | None, fn: Callable[[], _T]) -> _T:
    """Call `fn` in a fresh thread that has joined `netns_path` (None: the caller's)."""
    if netns_path is None:
        return fn()
    box: dict[str, object] = {}

    def run() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, name="taller-netns", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def socket_in_netns(netns_path: str | None, family: int = socket.AF_INET) -> socket.socket:
    return in_netns(netns_path, lambda: socket.socket(family, socket.SOCK_STREAM))


Address = tuple[str, int] | str  # (host, port) for TCP, a path for a unix socket


class GateRejected(Exception):
    """A client's opening bytes were refused; the connection is cut."""


class Gate(Protocol):
    """Looks at what a client sends first, before any of it reaches the server.

    `feed` gets each chunk the client sends and returns what may be passed on now
    (holding back what it has not judged yet), or raises GateRejected.
    """

    def feed(self, data: bytes) -> bytes: ...


def _family(addr: Address) -> int:
    return socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET


class Forwarder:
    """Listens on `listen` in `listen_ns`; relays each connection to `target` in `target_ns`.

    Used both ways: into a run's namespace (the student reaches a host server) and out of
    it (the grader, on the host, reaches a server that lives only in the run's namespace).
    One thread, one selector: runs open few connections and the relay must not cost a
    thread per connection when twenty concurrent requests each open one.
    """

    def __init__(
        self,
        listen: tuple[str, int],
        target: Address,
        *,
        listen_ns: str | None = None,
        target_ns: str | None = None,
        gate: Callable[[], Gate] | None = None,
        name: str = "forwarder",
    ) -> None:
        self.target = target
        self._gate_factory = gate
        self._gates: dict[socket.socket, Gate] = {}
        self.target_ns = target_ns
        self._listener = socket_in_netns(listen_ns)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(listen)
            self._listener.listen(128)
            self._listener.setblocking(False)
        except BaseException:
            self._listener.close()
            raise
        self.address: tuple[str, int] = self._listener.getsockname()
        self._sel = selectors.DefaultSelector()
        # A self-pipe wakes the loop for close(); closing a socket another thread waits on
        # is not reliable.
        self._wake_r, self._wake_w = os.pipe()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._pending: dict[socket.socket, bytearray] = {}
        self._eof: set[socket.socket] = set()  # sockets that have read EOF
        self._registered: dict[socket.socket, int] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"taller-{name}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.address[1]

    def close(self) -> None:
        """Stop listening and cut every relayed connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)

    def _connect_target(self) -> socket.socket:
        up = socket_in_netns(self.target_ns, _family(self.target))
        try:
            up.settimeout(5)
            up.connect(self.target)
            up.setblocking(False)
        except BaseException:
            up.close()
            raise
        return up

    def _drop(self, s: socket.socket) -> None:
        peer = self._pairs.pop(s, None)
        for x in (s, peer):
            if x is None:
                continue
            self._pairs.pop(x, None)
            self._pending.pop(x, None)
            self._eof.discard(x)
            self._gates.pop(x, None)
            self._registered.pop(x, None)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._sel.unregister(x)
            x.close()

    def _update(self, s: socket.socket) -> None:
        """Read from `s` only while its peer has nothing queued (back-pressure); write
        to `s` while it has something queued."""
        peer = self._pairs.get(s)
        if peer is None:
            return
        mask = 0
        if not self._pending.get(peer) and s not in self._eof:
            mask |= selectors.EVENT_READ
        if self._pending.get(s):
            mask |= selectors.EVENT_WRITE
        old = self._registered.get(s, 0)
        if mask == old:
            return
        if old == 0:
            self._sel.register(s, mask, "conn")
        elif mask == 0:
            self._sel.unregister(s)
        else:
            self._sel.modify(s, mask, "conn")
        self._registered[s] = mask

    def _loop(self) -> None:
        sel = self._sel
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._closed:
                for key, events in sel.select():
                    if key.data == "wake":
                        return
                    if key.data == "accept":
                        self._accept()
                        continue
                    s = key.fileobj
                    assert isinstance(s, socket.socket)
                    if events & selectors.EVENT_WRITE and s in self._pairs:
                        self._flush(s)
                    if events & selectors.EVENT_READ and s in self._pairs:
                        self._relay(s)
        finally:
            for s in list(self._pairs):
                self._drop(s)
            sel.close()
            self._listener.close()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _accept(self) -> None:
        try:
            down, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            up = self._connect_target()
        except OSError:
            # The client sees the connection closed, as if the server were down.
            down.close()
            return
        down.setblocking(False)
        self._pairs[down] = up
        self._pairs[up] = down
        if self._gate_factory is not None:
            self._gates[down] = self._gate_factory()
        self._update(down)
        self._update(up)

    def _relay(self, s: socket.socket) -> None:
        peer = self._pairs[s]
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(s)
            return
        if not data:
            # Pass the half-close on once what was read has been written.
            self._eof.add(s)
            self._update(s)
            self._flush(peer)
            return
        gate = self._gates.get(s)
        if gate is not None:
            try:
                data = gate.feed(data)
            except GateRejected:
                self._drop(s)
                return
        self._pending.setdefault(peer, bytearray()).extend(data)
        self._flush(peer)

    def _flush(self, s: socket.socket) -> None:
        buf = self._pending.get(s)
        if buf:
            try:
                sent = s.send(buf)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._drop(s)
                return
            del buf[:sent]
        peer = self._pairs.get(s)
        if peer is None:
            return
        if not buf and peer in self._eof:
            if s in self._eof:
                self._drop(s)
                return
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_WR)
        self._update(s)
        self._update(peer)
