"""A web host's server: gunicorn, one process per core, each an uvicorn worker.

    gunicorn -c python:taller.web.gunicorn_conf [--bind 0.0.0.0:8000] [--workers N]

A web process runs one HTTP request at a time (serving.py), so a host runs as many as it
has cores: WEB_PROCESSES, else the cores gunicorn may run on. Each is an uvicorn worker
serving taller.asgi (HTTP through serving.py, WebSockets through Channels). gunicorn
supervises them: a process that dies is started again, SIGTERM stops them gracefully
(WEB_GRACEFUL_SECONDS for requests and WebSockets in flight; a closed WebSocket makes
the page poll instead, live.js), SIGHUP replaces them gracefully, and after
WEB_MAX_REQUESTS requests (plus up to a tenth more, so they do not all restart at once)
a process is replaced, which bounds what any leak can grow to.

Each process listens on a socket of its own on the one port (SO_REUSEPORT,
`reuse_port`), and the kernel spreads new connections over them evenly: one socket
shared by all let whichever process woke first take most of them (bench/scale.py
measured 65 against 143 requests/s for two Daphne processes). WEB_REUSE_PORT=0 shares
one. A process's socket goes with it: connections still waiting in its queue when it
stops are refused, unless the host lets the kernel move them to the others
(`net.ipv4.tcp_migrate_req=1`, docker-compose.yml).

The application is loaded once, before the fork (`preload_app`), and warmed up there
(warmup.py): a new process serves at once, where loading it took 2 to 3 s of each, and
the processes share those pages of memory. What cannot cross a fork, the database pool
and the cache's connections, each process opens after it (`post_fork`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from uvicorn_worker import UvicornWorker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")

from django.conf import settings

from taller.web import warmup

wsgi_app = "taller.asgi:application"
bind = ["0.0.0.0:8000"]
workers = int(os.environ.get("WEB_PROCESSES") or len(os.sched_getaffinity(0)))
worker_class = "taller.web.gunicorn_conf.Worker"
reuse_port = os.environ.get("WEB_REUSE_PORT", "1") != "0"
preload_app = True
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_SECONDS", "20"))
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
# gunicorn's control socket (gunicornc) is not used, and its one default path per user
# would be fought over by two servers on a host.
control_socket_disable = True
logconfig_dict = {
    **settings.LOGGING,
    "loggers": {
        **settings.LOGGING.get("loggers", {}),
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn_worker gives uvicorn's logger gunicorn's handlers (none here): through
        # the root's instead, as every other line.
        logging.getLogger("uvicorn.error").propagate = True


def post_fork(server: Any, worker: Any) -> None:
    """In each new web process, before it serves: its own connections, then the freeze."""
    warmup.settle()


# Read by taller.asgi when gunicorn loads it: the connections are for each process to open.
warmup.settle_after_fork = True
