"""A web host's server: gunicorn, one process per core, each an uvicorn worker.

    gunicorn -c python:taller.web.gunicorn_conf [--bind 0.0.0.0:8000] [--workers N]

A web process runs one HTTP request at a time (serving.py), so a host runs as many as it
has cores: WEB_PROCESSES, else the cores gunicorn may run on. Each is an uvicorn worker
serving taller.asgi (HTTP through serving.py, WebSockets through Channels). gunicorn
supervises them: a process that dies is started again, SIGTERM stops them gracefully
(WEB_GRACEFUL_SECONDS for requests and WebSockets in flight; a closed WebSocket makes
the page poll instead, live.js), SIGHUP replaces them gracefully (with the same code and
configuration: both are loaded once, in the parent), and after
WEB_MAX_REQUESTS requests (plus up to a tenth more, so they do not all restart at once)
a process is replaced, which bounds what any leak can grow to.

Each process accepts on a listening socket of its own on the one port (SO_REUSEPORT), and
the kernel spreads new connections over them evenly: one socket shared by all lets
whichever process wakes first take most of them (bench/scale.py measured 65 against 143
requests/s for two Daphne processes; under uvicorn, one process took all 50 of wrk's
connections in some rounds). gunicorn's own `reuse_port` gives each process a
socket it opens itself and that closes with it, refusing the connections still waiting in
its queue: under load, every restart (WEB_MAX_REQUESTS) failed requests. So the sockets
are gunicorn's parent's, one for each process (`on_starting`); a process takes a free one
as it starts (`pre_fork`, `post_fork`), and a process started in place of one that exited
takes that one's socket and the connections waiting there. WEB_REUSE_PORT=0: one socket
shared by all, gunicorn's default.

The application is loaded once, before the fork (`preload_app`), and warmed up there
(warmup.py): a new process serves 30 ms after its fork, where importing the application
took 5 to 7 s on this shared machine, and the processes share those pages of memory.
What cannot cross a fork, the database pool and the cache's connections, each process
opens after it (`post_fork`).
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from gunicorn import sock as gunicorn_sock
from uvicorn_worker import UvicornWorker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")

from django.conf import settings

from taller.web import warmup

wsgi_app = "taller.asgi:application"
bind = ["0.0.0.0:8000"]
workers = int(os.environ.get("WEB_PROCESSES") or len(os.sched_getaffinity(0)))
worker_class = "taller.web.gunicorn_conf.Worker"
# Not gunicorn's own (sockets that close with their process): ours, below.
reuse_port = False
socket_per_process = os.environ.get("WEB_REUSE_PORT", "1") != "0"
preload_app = True
max_requests = int(os.environ.get("WEB_MAX_REQUESTS") or 10000)
max_requests_jitter = max_requests // 10
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_SECONDS") or 20)
# Idle keep-alive connections are kept longer than a load balancer keeps its own (60 s is
# common): the balancer, not the server, closes them, so it never sends a request on a
# connection the server is closing.
keepalive = 75
# Behind the load balancer: the client's address from X-Forwarded-For, the scheme from
# X-Forwarded-Proto, when they come from these addresses (the variable's own default:
# this host; docker-compose.yml trusts the balancer in front of the container).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's and uvicorn's lines as the platform's own (LOG_FORMAT: JSON in production).
# No access log: the platform writes one line per request, with its id (observability).
accesslog = None
logconfig_dict = {
    **settings.LOGGING,
    "loggers": {
        **settings.LOGGING.get("loggers", {}),
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
# gunicorn's control socket (gunicornc) is not used, and its one default path per user
# would be fought over by two servers on a host.
control_socket_disable = True

logger = logging.getLogger("taller.web")


class Worker(UvicornWorker):
    """uvicorn in a gunicorn worker, as taller.asgi needs it."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",  # uvloop
        "http": "auto",  # httptools
        # Channels' router has no lifespan protocol: not asking spares a line per process.
        "lifespan": "off",
        "access_log": False,
        # As Daphne did: no per-message compression, whose state per connection (1,000
        # WebSockets in a class) and CPU per event the fan-out would pay for.
        "ws_per_message_deflate": False,
    }

    # The listening socket of this process's own (pre_fork), if it has one.
    listener: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn_worker gives uvicorn's logger gunicorn's handlers (none here): through
        # the root's instead, as every other line.
        logging.getLogger("uvicorn.error").propagate = True


def _one_address(server: Any) -> tuple[str, int] | None:
    """The one TCP address served, where a socket per process applies."""
    addresses = server.cfg.address
    if not socket_per_process or len(addresses) != 1 or not isinstance(addresses[0], tuple):
        return None
    host, port = addresses[0]
    return str(host), int(port)


def _listener(server: Any, host: str, port: int) -> Any:
    """A listening socket on host:port beside the others (SO_REUSEPORT), as gunicorn's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    raw = socket.socket(family, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    raw.bind((host, port))
    raw.listen(server.cfg.backlog)
    kind = gunicorn_sock.TCP6Socket if family == socket.AF_INET6 else gunicorn_sock.TCPSocket
    return kind((host, port), server.cfg, server.log, fd=raw.detach())


def on_starting(server: Any) -> None:
    """In gunicorn's parent, before it listens: a socket for each process."""
    inherited = "GUNICORN_FD" in os.environ or "LISTEN_FDS" in os.environ  # USR2, systemd
    address = _one_address(server)
    if address is not None and not inherited:
        server.LISTENERS = [_listener(server, *address) for _ in range(server.num_workers)]


def pre_fork(server: Any, worker: Worker) -> None:
    """In the parent: the socket the new process will accept on, one no other process
    has (that of the process it replaces, if it replaces one)."""
    address = _one_address(server)
    if address is None:
        return
    taken = {id(w.listener) for w in server.WORKERS.values()}
    free = [listener for listener in server.LISTENERS if id(listener) not in taken]
    if free:
        worker.listener = free[0]
        return
    try:  # more processes than sockets (TTIN, or a reload's new processes)
        worker.listener = _listener(server, *address)
    except OSError as exc:  # the address changed on reload: gunicorn's one socket
        logger.warning("no socket of its own for a new web process (%s): sharing", exc)
        return
    server.LISTENERS.append(worker.listener)


def post_fork(server: Any, worker: Worker) -> None:
    """In each new web process, before it serves: its socket, its own connections, then
    the freeze."""
    if worker.listener is not None:
        for listener in worker.sockets:
            if listener is not worker.listener:
                listener.close()  # this process's copy: the parent keeps its own
        worker.sockets = [worker.listener]
    warmup.settle()


def child_exit(server: Any, worker: Worker) -> None:
    """In the parent, once a process has exited: its socket waits for the process that
    replaces it, unless none will (fewer processes, or a reload's older ones), when it is
    closed so that the kernel sends it nothing more."""
    listener = worker.listener
    if listener is None or len(server.WORKERS) < server.num_workers:
        return
    if listener in server.LISTENERS:  # not when stopping: gunicorn has closed them all
        server.LISTENERS.remove(listener)
        listener.close()


# Read by taller.asgi when gunicorn loads it: the connections are for each process to open.
warmup.settle_after_fork = True
