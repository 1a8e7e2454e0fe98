"""A PostgreSQL database of its own for each run.

Where the server is: either a cluster the runner starts itself (single machine, CI,
development: initdb into a state directory, unix socket only, never the platform's own
server), or a dedicated server given by an admin DSN (production).

How the run reaches it: a forwarder listening on 127.0.0.1:5432 inside the run's network
namespace, relaying to the server. Not a bind of the socket directory: that directory is
shared by every run, and a read-write bind would let one run unlink the socket (or the
lock file) and cut every other run off. The forwarder also works unchanged for a server
on another host, and it exposes this one server and nothing else: the platform's
PostgreSQL stays out of reach.

Speed: CREATE DATABASE costs 50-200 ms here depending on load, most of a run's budget,
so a background thread keeps `pool_size` databases (each with its role) made in advance,
and provision only takes one (a few ms). The local cluster also runs with fsync off: its
data lives only as long as a run. Figures: bench/reports/services.md.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

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
from taller_grader.sandbox.services.netns import Address, Forwarder

ADMIN_USER = "taller_admin"


@dataclass(frozen=True, slots=True)
class PostgresConfig:
    # Production: an admin DSN (a role with CREATEDB and CREATEROLE) of a server used only
    # for runs. None: the runner's own cluster in `state_dir`.
    admin_dsn: str | None = None
    state_dir: str = "/var/lib/taller/services/postgres"
    bin_dir: str | None = None  # None: the newest /usr/lib/postgresql/*/bin
    os_user: str = "postgres"  # owner of the local cluster when the runner is root
    port: int = 5432  # the port the student's program sees on its loopback
    connection_limit: int = 40  # per run: a pool of 20 plus the grader's own
    shared_buffers: str = "32MB"
    max_connections: int = 200
    # CREATE DATABASE's STRATEGY: WAL_LOG (15's default) or FILE_COPY (checkpoints twice).
    create_strategy: Literal["WAL_LOG", "FILE_COPY"] = "WAL_LOG"
    # Databases made ahead of need, in a background thread (0: make each on demand).
    pool_size: int = 2
    prefix: str = DEFAULT_PREFIX
    sweep_age_seconds: float = DEFAULT_SWEEP_AGE


@dataclass(slots=True)
class _Run:
    name: str
    password: str
    forwarder: Forwarder | None
    made: float = 0.0  # time.monotonic() at creation


def _find_bin_dir() -> str:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        found = shutil.which("initdb")
        if found is None:
            raise ServiceError("no PostgreSQL server binaries (initdb) found")
        return str(Path(found).parent)
    return dirs[-1]


class LocalCluster:
    """A cluster in `state_dir`, started on first use and left running for the next runs.

    Unix socket only (`listen_addresses=''`), SCRAM for every connection, the admin's
    password in a 0600 file beside the data.
    """

    def __init__(self, cfg: PostgresConfig) -> None:
        self.cfg = cfg
        self.state = Path(cfg.state_dir)
        self.data = self.state / "data"
        self.socket_dir = str(self.state)
        self.socket_port = 5432
        self._lock = threading.Lock()

    @property
    def socket_path(self) -> str:
        return f"{self.socket_dir}/.s.PGSQL.{self.socket_port}"

    def _run_as_owner(self) -> tuple[list[str], int | None, int | None]:
        if os.geteuid() != 0:
            return [], None, None
        pw = pwd.getpwnam(self.cfg.os_user)
        return ["runuser", "-u", self.cfg.os_user, "--"], pw.pw_uid, pw.pw_gid

    def admin_password(self) -> str:
        return (self.state / "admin.password").read_text().strip()

    def ensure_running(self) -> None:
        with self._lock:
            if os.path.exists(self.socket_path) and self._ping():
                return
            self._start()

    def _ping(self) -> bool:
        try:
            with psycopg.connect(self.admin_conninfo(), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def _start(self) -> None:
        bin_dir = self.cfg.bin_dir or _find_bin_dir()
        prefix, uid, gid = self._run_as_owner()
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        if uid is not None and gid is not None:
            os.chown(self.state, uid, gid)
        pwfile = self.state / "admin.password"
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            pwfile.write_text(new_password() + "\n")
            os.chmod(pwfile, 0o600)
            if uid is not None and gid is not None:
                os.chown(pwfile, uid, gid)
            self._check(
                [
                    *prefix,
                    f"{bin_dir}/initdb",
                    "-D",
                    str(self.data),
                    "-U",
                    ADMIN_USER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                "initdb",
            )
        opts = " ".join(
            [
                "-c listen_addresses=''",
                f"-c unix_socket_directories={self.socket_dir}",
                f"-c port={self.socket_port}",
                # Runs' data is thrown away after each run; durability buys nothing.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                f"-c shared_buffers={self.cfg.shared_buffers}",
                f"-c max_connections={self.cfg.max_connections}",
            ]
        )
        # A crash leaves a stale postmaster.pid; pg_ctl start copes with it.
        self._check(
            [
                *prefix,
                f"{bin_dir}/pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.state / "server.log"),
                "-w",
                "-t",
                "30",
                "-s",
                "-o",
                opts,
                "start",
            ],
            "pg_ctl start",
        )
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            # Runs' roles must not wander into the maintenance databases either.
            conn.execute("REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC")

    def stop(self) -> None:
        bin_dir = self.cfg.bin_dir or _find_bin_dir()
        prefix, _, _ = self._run_as_owner()
        if (self.data / "postmaster.pid").exists():
            subprocess.run(  # noqa: S603 - argv from the platform's config
                [
                    *prefix,
                    f"{bin_dir}/pg_ctl",
                    "-D",
                    str(self.data),
                    "-m",
                    "fast",
                    "-w",
                    "-s",
                    "stop",
                ],
                check=False,
                capture_output=True,
            )

    @staticmethod
    def _check(argv: list[str], what: str) -> None:
        # argv is built from the platform's config, never from a submission.
        r = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if r.returncode != 0:
            raise ServiceError(f"{what} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")

    def admin_conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.socket_dir,
            port=str(self.socket_port),
            user=ADMIN_USER,
            password=self.admin_password(),
            dbname="postgres",
        )


class PostgresService:
    """Per run: a role and a database, both randomly named, the role owning the database,
    CONNECT revoked from PUBLIC so no other run's role can even open it."""

    name = "postgres"

    def __init__(self, cfg: PostgresConfig) -> None:
        self.cfg = cfg
        self._cluster: LocalCluster | None = None
        self._target: Address
        self._grader_host: str
        self._grader_port: str
        if cfg.admin_dsn is None:
            self._cluster = LocalCluster(cfg)
            self._target = self._cluster.socket_path
            self._grader_host = self._cluster.socket_dir
            self._grader_port = str(self._cluster.socket_port)
        else:
            params = conninfo_to_dict(cfg.admin_dsn)
            host = str(params.get("host") or "localhost")
            port = int(params.get("port") or 5432)
            self._target = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)
            self._grader_host, self._grader_port = host, str(port)
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None
        self._ready: deque[_Run] = deque()
        self._doomed: list[str] = []  # pooled databases too old to hand out
        self._pool_cond = threading.Condition()
        self._pool_thread: threading.Thread | None = None
        self._closing = False

    # One admin connection, kept open: connecting costs more than the whole provision.
    def _conn(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._admin is not None and not self._admin.closed and not self._admin.broken:
            return self._admin
        self._admin = psycopg.connect(self._admin_conninfo(), autocommit=True)
        return self._admin

    def _admin_conninfo(self) -> str:
        if self._cluster is not None:
            self._cluster.ensure_running()
            return self._cluster.admin_conninfo()
        assert self.cfg.admin_dsn is not None
        return self.cfg.admin_dsn

    def start(self) -> None:
        """Start the local cluster (if any) and open the admin connection now."""
        with self._lock:
            self._conn()
            self._ensure_pool_thread()

    def _create(self, conn: psycopg.Connection[tuple[object, ...]]) -> _Run:
        run = _Run(new_name(self.cfg.prefix), new_password(), None, time.monotonic())
        ident = sql.Identifier(run.name)
        try:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} CONNECTION LIMIT {}").format(
                    ident, sql.Literal(run.password), sql.Literal(self.cfg.connection_limit)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 STRATEGY {}").format(
                    ident, ident, sql.SQL(self.cfg.create_strategy)
                )
            )
            conn.execute(
                sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(ident)
            )
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error):
                self._drop(conn, run.name)
            raise ServiceError(f"could not create the run's database: {exc}") from exc
        return run

    def _take_ready(self) -> _Run | None:
        """A database made in advance, or None. CREATE DATABASE takes 100-200 ms here,
        most of a run's service budget; the pool moves it off the run's path."""
        with self._pool_cond:
            while self._ready:
                run = self._ready.popleft()
                self._pool_cond.notify_all()
                # Old enough that another worker's janitor may take it for a leftover.
                if time.monotonic() - run.made < self.cfg.sweep_age_seconds / 2:
                    return run
                self._doomed.append(run.name)
        return None

    def _ensure_pool_thread(self) -> None:
        if self.cfg.pool_size <= 0 or self._pool_thread is not None:
            return
        self._pool_thread = threading.Thread(
            target=self._fill_pool, name="taller-pg-pool", daemon=True
        )
        self._pool_thread.start()

    def _fill_pool(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        while True:
            with self._pool_cond:
                while (
                    not self._closing
                    and len(self._ready) >= self.cfg.pool_size
                    and not self._doomed
                ):
                    self._pool_cond.wait()
                if self._closing:
                    break
                doomed, self._doomed = self._doomed, []
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = psycopg.connect(self._admin_conninfo(), autocommit=True)
                for name in doomed:
                    self._drop(conn, name)
                run = self._create(conn)
            except (psycopg.Error, ServiceError):
                # Leave it to provision's own path; try again a little later.
                time.sleep(1.0)
                continue
            with self._pool_cond:
                self._ready.append(run)
                self._pool_cond.notify_all()
        if conn is not None:
            conn.close()

    def provision(self, run_id: str, netns_path: str) -> ServiceGrant:
        with self._lock:
            if run_id in self._runs:
                raise ServiceError(f"run {run_id} already has a database")
            try:
                self._ensure_pool_thread()
                run = self._take_ready() or self._create(self._conn())
            except (ServiceError, psycopg.OperationalError):
                # The server restarted (or the local cluster was stopped) since the
                # admin connection was made: reconnect, starting the cluster, once.
                if self._admin is None or not self._admin.broken:
                    raise
                self._admin = None
                try:
                    run = self._create(self._conn())
                except psycopg.Error as exc:
                    raise ServiceError(f"PostgreSQL unreachable: {exc}") from exc
            self._runs[run_id] = run
        name, password = run.name, run.password
        try:
            run.forwarder = Forwarder(
                ("127.0.0.1", self.cfg.port),
                self._target,
                listen_ns=netns_path,
                name=f"pg-{name}",
            )
        except OSError as exc:
            self.release(run_id)
            raise ServiceError(f"could not expose PostgreSQL in the run: {exc}") from exc
        host, port = "127.0.0.1", str(self.cfg.port)
        return ServiceGrant(
            env={
                "PGHOST": host,
                "PGPORT": port,
                "PGUSER": name,
                "PGPASSWORD": password,
                "PGDATABASE": name,
                # The local cluster speaks no TLS; say so, or some drivers ask for it.
                "PGSSLMODE": "disable",
                "DATABASE_URL": f"postgresql://{name}:{password}@{host}:{port}/{name}",
            }
        )

    def grader_env(self, run_id: str) -> Mapping[str, str]:
        run = self._runs[run_id]
        host = self._grader_host
        if host.startswith("/"):
            url = (
                f"postgresql://{run.name}:{run.password}@/{run.name}"
                f"?host={quote(host, safe='')}&port={self._grader_port}"
            )
        else:
            url = f"postgresql://{run.name}:{run.password}@{host}:{self._grader_port}/{run.name}"
        return {
            "PGHOST": host,
            "PGPORT": self._grader_port,
            "PGUSER": run.name,
            "PGPASSWORD": run.password,
            "PGDATABASE": run.name,
            "DATABASE_URL": url,
        }

    def release(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                return
            if run.forwarder is not None:
                run.forwarder.close()
            self._drop_locked(run)

    def _drop_locked(self, run: _Run) -> None:
        try:
            self._drop(self._conn(), run.name)
        except psycopg.Error as exc:
            raise ServiceError(f"could not drop {run.name}: {exc}") from exc

    @staticmethod
    def _drop(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
        ident = sql.Identifier(name)
        # FORCE ends the student's sessions still open (a server left running).
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))

    def sweep(self, min_age_seconds: float | None = None) -> list[str]:
        age = self.cfg.sweep_age_seconds if min_age_seconds is None else min_age_seconds
        with self._lock:
            conn = self._conn()
            with self._pool_cond:
                live = {r.name for r in self._runs.values()} | {r.name for r in self._ready}
            like = self.cfg.prefix.replace("_", r"\_") + "%"
            dbs = [
                str(r[0])
                for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", (like,)
                )
            ]
            roles = [
                str(r[0])
                for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (like,))
            ]
            removed = stale(dbs + roles, live, self.cfg.prefix, age)
            for name in removed:
                self._drop_locked(_Run(name, "", None))
            return removed

    def close(self) -> None:
        with self._pool_cond:
            self._closing = True
            self._pool_cond.notify_all()
        if self._pool_thread is not None:
            self._pool_thread.join(timeout=30)
            self._pool_thread = None
        release_all(self, self._runs)
        with self._pool_cond:
            leftovers = [r.name for r in self._ready] + self._doomed
            self._ready.clear()
            self._doomed = []
        for name in leftovers:
            with contextlib.suppress(ServiceError):
                self._drop_locked(_Run(name, "", None))
        self._closing = False
        if self._admin is not None:
            self._admin.close()
            self._admin = None
