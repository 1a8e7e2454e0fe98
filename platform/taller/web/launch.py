"""`taller-web`: a web host's Daphne processes, one per core, on one port.

    taller-web [--host 0.0.0.0] [--port 8000] [--processes N] [-- DAPHNE OPTIONS]

A web process runs one request at a time (serving.py), so a host serves with as many
processes as it has cores (N: WEB_PROCESSES, else the cores this process may run on).
Each gets a listening socket of its own on the same address (SO_REUSEPORT) and the kernel
spreads new connections over them evenly; one socket shared by all let whichever process
woke first take most of them (bench/scale.py measured 65 against 143 requests/s for two).
With one process per core the exercise page met its p99 target in every run (README,
"Measured"); one process for two cores did not.

A process that dies is started again on its socket, unless it dies within
STARTUP_SECONDS of starting (a configuration error would only repeat): then all stop and
the launcher exits with 1, so the container's restart policy and logs take over. SIGTERM
or SIGINT (`docker stop`, Ctrl+C) is passed on to every process; the launcher exits 0
once they have all exited.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

logger = logging.getLogger("taller.web.launch")

ASGI_APP = "taller.asgi:application"
STARTUP_SECONDS = 10.0


@dataclass
class WebProcess:
    number: int
    listener: socket.socket
    process: subprocess.Popen[bytes]
    started: float


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _log_to_stderr()
    listeners = [reuseport_listener(args.host, args.port) for _ in range(args.processes)]
    daphne = [str(Path(sys.executable).parent / "daphne"), *args.daphne_options]
    running: dict[int, WebProcess] = {}
    stopping = False

    def start(number: int, listener: socket.socket) -> None:
        fd = listener.fileno()
        # Daphne beside this interpreter, with the operator's own options: no untrusted input.
        argv = [*daphne, "--fd", str(fd), ASGI_APP]
        process = subprocess.Popen(argv, pass_fds=(fd,))  # noqa: S603
        running[process.pid] = WebProcess(number, listener, process, time.monotonic())
        if stopping:  # told to stop while it was being started
            process.terminate()

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for web in running.values():
            web.process.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number, listener in enumerate(listeners, start=1):
        start(number, listener)
    logger.info("%d web processes on %s:%d", args.processes, args.host, args.port)
    status = 0
    while running:
        pid, wait_status = os.wait()
        web = running.pop(pid, None)
        if web is None:
            continue
        code = os.waitstatus_to_exitcode(wait_status)
        web.process.returncode = code  # reaped here, not by Popen
        if stopping:
            continue
        if time.monotonic() - web.started < STARTUP_SECONDS:
            logger.error("web process %d exited (%d) as it started: stopping", web.number, code)
            status = 1
            stop(signal.SIGTERM, None)
            continue
        logger.warning("web process %d exited (%d): starting it again", web.number, code)
        start(web.number, web.listener)
    return status


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="taller-web", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (a container's web port)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("WEB_PROCESSES") or len(os.sched_getaffinity(0))),
    )
    parser.add_argument("daphne_options", nargs="*", help="passed to each Daphne, after --")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    return args


def _log_to_stderr() -> None:
    """As the web processes log (LOG_FORMAT, settings.base), so one stream reads alike."""
    from taller.observability import JsonFormatter, PlainFormatter

    handler = logging.StreamHandler()
    if os.environ.get("LOG_FORMAT", "plain") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def reuseport_listener(host: str, port: int) -> socket.socket:
    """A listening socket of one web process's own, sharing host:port with the others'."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.set_inheritable(True)
    return listener


if __name__ == "__main__":
    sys.exit(main())
