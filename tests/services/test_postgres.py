from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest

from taller_grader.sandbox.services import PostgresConfig, PostgresService, new_name

from .conftest import PREFIX, Netns

# node-postgres exactly as the seed uses it: `new Client()`, no arguments.
NODE_PG = """
const { Client, Pool } = require('pg');
(async () => {
  const c = new Client();
  await c.connect();
  await c.query('CREATE TABLE IF NOT EXISTS usuarios (id serial primary key, '
    + 'nombre text not null, email text not null unique)');
  await c.query('INSERT INTO usuarios (nombre, email) VALUES ($1, $2)',
    [process.env.NOMBRE, process.env.NOMBRE + '@x.com']);
  const now = (await c.query('SELECT NOW() AS ahora')).rows[0].ahora;
  let dup = null;
  try {
    await c.query('INSERT INTO usuarios (nombre, email) VALUES ($1, $2)',
      ['otro', process.env.NOMBRE + '@x.com']);
  } catch (e) { dup = e.code; }
  const rows = (await c.query('SELECT nombre FROM usuarios ORDER BY id')).rows;
  await c.end();
  // Twenty concurrent queries through a pool, as the exercise's load test does.
  const pool = new Pool({ connectionString: process.env.DATABASE_URL });
  const many = await Promise.all(Array.from({ length: 20 },
    (_, i) => pool.query('SELECT $1::int AS i', [i])));
  await pool.end();
  console.log(JSON.stringify({ rows: rows.map(r => r.nombre), dup, now: String(now),
    pooled: many.length }));
})().catch(e => { console.log(JSON.stringify({ error: String(e) })); });
"""

NODE_CONNECT = """
const { Client } = require('pg');
(async () => {
  const c = new Client({ connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const r = await c.query(process.env.SQL || 'SELECT current_user AS u');
    console.log(JSON.stringify({ ok: true, rows: r.rows }));
    await c.end();
  } catch (e) { console.log(JSON.stringify({ ok: false, error: String(e.message || e) })); }
})();
"""


def _exists(svc: PostgresService, name: str) -> tuple[bool, bool]:
    conn = svc._conn()
    db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    return db is not None, role is not None


def test_node_pg_works_and_release_leaves_nothing(
    postgres: PostgresService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    grant = postgres.provision("run-a", ns.path)
    name = grant.env["PGDATABASE"]
    assert name.startswith(PREFIX) and grant.env["PGUSER"] == name
    assert grant.binds == ()
    out = ns.node(NODE_PG, {**grant.env, "NOMBRE": "ana"})
    assert out.get("error") is None, out
    assert out["rows"] == ["ana"] and out["dup"] == "23505" and out["pooled"] == 20

    # The grader, on the host, reads the same table with its own view of the address.
    with psycopg.connect(postgres.grader_env("run-a")["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT nombre FROM usuarios").fetchall() == [("ana",)]

    postgres.release("run-a")
    assert _exists(postgres, name) == (False, False)
    postgres.release("run-a")  # twice is fine
    # The forwarder is gone too: nothing listens in the run's namespace any more.
    out = ns.node(NODE_CONNECT, dict(grant.env))
    assert out["ok"] is False


def test_release_with_student_still_connected(
    postgres: PostgresService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    grant = postgres.provision("run-held", ns.path)
    with psycopg.connect(postgres.grader_env("run-held")["DATABASE_URL"]):
        postgres.release("run-held")  # DROP ... WITH (FORCE) ends the open session
    assert _exists(postgres, grant.env["PGDATABASE"]) == (False, False)


def test_runs_cannot_see_each_other(
    postgres: PostgresService, make_netns: Callable[[], Netns]
) -> None:
    ns1, ns2 = make_netns(), make_netns()
    g1 = postgres.provision("run-1", ns1.path)
    g2 = postgres.provision("run-2", ns2.path)
    try:
        assert ns1.node(NODE_PG, {**g1.env, "NOMBRE": "uno"})["rows"] == ["uno"]
        assert ns2.node(NODE_PG, {**g2.env, "NOMBRE": "dos"})["rows"] == ["dos"]
        # Run 2's credentials against run 1's database: refused (CONNECT revoked).
        out = ns2.node(NODE_CONNECT, {**g2.env, "PGDATABASE": g1.env["PGDATABASE"]})
        assert out["ok"] is False and "permission denied" in str(out["error"])
        # Nor the maintenance databases.
        for db in ("postgres", "template1"):
            out = ns2.node(NODE_CONNECT, {**g2.env, "PGDATABASE": db})
            assert out["ok"] is False, db
    finally:
        postgres.release("run-1")
        postgres.release("run-2")


def test_platform_postgres_unreachable(
    postgres: PostgresService, make_netns: Callable[[], Netns]
) -> None:
    """127.0.0.1:5432 in the run leads to the runs' cluster, not to the platform's server
    that listens on the host's 127.0.0.1:5432; no other host port answers. (Its unix
    socket is the sandbox's business: its mount namespace does not show /var/run.)"""
    ns = make_netns()
    grant = postgres.provision("run-iso", ns.path)
    try:
        env = dict(grant.env)
        # The platform's server has databases `test` and `root`; the runs' cluster not.
        sql = "SELECT datname FROM pg_database WHERE datname IN ('test', 'root')"
        assert ns.node(NODE_CONNECT, {**env, "SQL": sql}) == {"ok": True, "rows": []}
        # Trust auth on the platform's server would let any user in; here: refused.
        out = ns.node(NODE_CONNECT, {**env, "PGUSER": "postgres", "PGPASSWORD": "x"})
        assert out["ok"] is False
        for port in ("5433", "6379", "15672", "3306"):
            assert ns.node(NODE_CONNECT, {**env, "PGPORT": port})["ok"] is False, port
    finally:
        postgres.release("run-iso")


def test_sweep_removes_crash_leftovers(
    postgres: PostgresService, pg_config: PostgresConfig
) -> None:
    # A worker that died mid-run: its role and database remain, its process is gone.
    crashed = PostgresService(pg_config)
    conn = crashed._conn()
    run = crashed._create(conn)
    crashed._admin = None
    conn.close()
    fresh = new_name(PREFIX)  # a name so new it may belong to a live run elsewhere
    admin = postgres._conn()
    admin.execute(f'CREATE ROLE "{fresh}"')
    try:
        assert run.name not in postgres.sweep()  # too young for the default age
        removed = postgres.sweep(min_age_seconds=0)
        assert run.name in removed
        assert _exists(postgres, run.name) == (False, False)
        # Only what carries the prefix and is old enough goes.
        assert postgres.sweep(min_age_seconds=3600) == []
    finally:
        admin.execute(f'DROP ROLE IF EXISTS "{fresh}"')


def test_provision_is_fast_with_pool(
    postgres: PostgresService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    deadline = time.monotonic() + 10
    while len(postgres._ready) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    t = time.perf_counter()
    postgres.provision("run-fast", ns.path)
    postgres.release("run-fast")
    elapsed = time.perf_counter() - t
    # The target is 0.1 s; leave room for a loaded CI machine.
    assert elapsed < 0.5, elapsed


@pytest.mark.parametrize("pool_size", [0])
def test_without_pool(
    pg_config: PostgresConfig, make_netns: Callable[[], Netns], pool_size: int
) -> None:
    cfg = PostgresConfig(state_dir=pg_config.state_dir, prefix=PREFIX, pool_size=pool_size)
    svc = PostgresService(cfg)
    ns = make_netns()
    try:
        grant = svc.provision("run-np", ns.path)
        assert ns.node(NODE_CONNECT, dict(grant.env))["ok"] is True
    finally:
        svc.close()
    assert svc._pool_thread is None


def test_local_cluster_restarted_when_down(
    postgres: PostgresService, make_netns: Callable[[], Netns]
) -> None:
    """The cluster is started once and reused; if it went down (a reboot, an OOM kill),
    the next provision starts it again."""
    assert postgres._cluster is not None
    postgres._cluster.stop()
    with postgres._pool_cond:
        # Their databases survive a restart; hand them to the janitor thread anyway,
        # so this provision has to go through the restarted server.
        postgres._doomed.extend(r.name for r in postgres._ready)
        postgres._ready.clear()
    ns = make_netns()
    t = time.monotonic()
    grant = postgres.provision("run-restart", ns.path)
    assert time.monotonic() - t < 10
    try:
        assert ns.node(NODE_CONNECT, dict(grant.env))["ok"] is True
    finally:
        postgres.release("run-restart")
