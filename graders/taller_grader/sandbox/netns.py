"""Network namespaces: one per run, only `lo` up, reachable from grader threads.

A namespace is kept alive by a bind mount of its nsfs file under `/run/netns` (where
`ip netns` looks too, which helps when debugging). Entering it is per thread: namespaces
belong to a task, so a grader thread can `setns()` in without moving the whole worker.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

from taller_grader.sandbox import _libc

NETNS_DIR = "/run/netns"

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_NOT_READY = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNRESET}


def _bring_lo_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def _share_directory(directory: str) -> None:
    """Make the namespaces' directory a shared mount of its own, as `ip netns` does.

    Otherwise the first tool that does it later (podman, iproute2) mounts the directory
    over itself and hides every namespace file bound before: those can then be neither
    reached nor unmounted by their path, and leak.
    """
    flags = _libc.MS_SHARED | _libc.MS_REC
    try:
        _libc.mount("none", directory, None, flags, None)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: not a mount point yet
            raise
        _libc.mount(directory, directory, None, _libc.MS_BIND | _libc.MS_REC, None)
        _libc.mount("none", directory, None, flags, None)


def create_netns(name: str, directory: str = NETNS_DIR) -> str:
    """Create a namespace with only `lo` (up); return the path that keeps it alive."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    _share_directory(directory)
    path = os.path.join(directory, name)
    failure: list[BaseException] = []

    def build() -> None:
        # unshare() moves only this throwaway thread, never the worker's other threads.
        try:
            _libc.unshare(_libc.CLONE_NEWNET)
            _bring_lo_up()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
            os.close(fd)
            try:
                own = f"/proc/self/task/{threading.get_native_id()}/ns/net"
                _libc.mount(own, path, None, _libc.MS_BIND, None)
            except BaseException:
                os.unlink(path)
                raise
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=build, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return path


def delete_netns(path: str) -> None:
    """Unmount and remove a namespace file; missing is fine (closing twice).

    Raises OSError when the file stays a mount point (EBUSY), e.g. one hidden under a
    later mount of its directory: the caller reports it and goes on.
    """
    with contextlib.suppress(FileNotFoundError, OSError):
        _libc.umount(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def inside_netns(netns_path: str) -> Iterator[None]:
    """Run the current thread inside `netns_path`; sockets opened here stay in it."""
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            _libc.setns(target, _libc.CLONE_NEWNET)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _libc.setns(own, _libc.CLONE_NEWNET)
    finally:
        os.close(own)


def port_open(netns_path: str, port: int, host: str = "127.0.0.1", timeout: float = 0.05) -> bool:
    with inside_netns(netns_path):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
        return True
    except TimeoutError:
        return False
    except OSError as exc:
        if exc.errno in _NOT_READY:
            return False
        raise
    finally:
        sock.close()


def wait_for_port(
    netns_path: str,
    port: int,
    timeout: float,
    *,
    host: str = "127.0.0.1",
    connect_timeout: float = 0.05,
    interval: float = 0.01,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll until something accepts on `host:port` inside the namespace.

    Returns False after `timeout`, or as soon as `alive()` (if given, e.g. a program's
    `running`) turns false: a crashed server never starts listening.
    """
    deadline = time.monotonic() + timeout
    while True:
        if port_open(netns_path, port, host, timeout=connect_timeout):
            return True
        if alive is not None and not alive():
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(interval, remaining))
