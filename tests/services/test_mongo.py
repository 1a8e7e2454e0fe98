from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pymongo import MongoClient

from taller_grader.sandbox.services import MongoConfig, MongoService

from .conftest import PREFIX, Netns

# The exercise's model, and what a correct student may check on a duplicate email.
NODE_MONGOOSE = """
const mongoose = require('mongoose');
(async () => {
  await mongoose.connect(process.env.MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  const Usuario = mongoose.model('Usuario', new mongoose.Schema({
    nombre: { type: String, required: true },
    email: { type: String, required: true, unique: true },
  }), 'usuarios');
  await Usuario.init();
  const a = await Usuario.create({ nombre: process.env.NOMBRE, email: 'a@x.com' });
  await Usuario.create({ nombre: 'segundo', email: 'b@x.com' });
  let dup = null;
  try { await Usuario.create({ nombre: 'otro', email: 'a@x.com' }); }
  catch (e) {
    dup = { code: e.code, e11000: /E11000/.test(e.message),
            keyPattern: e.keyPattern, keyValue: e.keyValue };
  }
  const all = await Usuario.find().sort({ _id: 1 });
  const byId = await Usuario.findById(String(a._id));
  await mongoose.disconnect();
  console.log(JSON.stringify({ ok: true, dup, nombres: all.map(u => u.nombre),
    byId: byId && byId.nombre }));
})().catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
                 process.exit(0); });
"""

NODE_PING = """
const mongoose = require('mongoose');
mongoose.connect(process.env.MONGODB_URI, { serverSelectionTimeoutMS: 1500 })
  .then(() => mongoose.connection.db.admin().ping())
  .then(() => { console.log(JSON.stringify({ ok: true })); return mongoose.disconnect(); })
  .catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
                process.exit(0); });
"""


def _gone(pid: int) -> bool:
    try:
        # A zombie not yet reaped by its parent counts as gone.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_mongoose_like_mongodb_and_release(
    mongo: MongoService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    grant = mongo.provision("run-m", ns.path)
    uri = grant.env["MONGODB_URI"]
    assert uri.startswith("mongodb://127.0.0.1:27017/")
    run = mongo._runs["run-m"]
    assert run.pid is not None and run.directory is not None
    if os.geteuid() == 0:
        assert run.directory.stat().st_uid != 0  # the server runs unprivileged
        assert os.stat(f"/proc/{run.pid}").st_uid != 0

    out = ns.node(NODE_MONGOOSE, {**grant.env, "NOMBRE": "ana"})
    assert out["ok"] is True, out
    assert out["dup"] == {
        "code": 11000,
        "e11000": True,
        "keyPattern": {"email": 1},
        "keyValue": {"email": "a@x.com"},
    }
    assert out["nombres"] == ["ana", "segundo"] and out["byId"] == "ana"

    # The grader reads the collection from the host.
    env = mongo.grader_env("run-m")
    with MongoClient(env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as client:
        docs = list(client[env["MONGODB_DB"]]["usuarios"].find({}, {"_id": 0, "email": 1}))
    assert sorted(d["email"] for d in docs) == ["a@x.com", "b@x.com"]

    pid, directory = run.pid, run.directory
    mongo.release("run-m")
    assert _gone(pid)
    assert not directory.exists()
    assert ns.node(NODE_PING, dict(grant.env))["ok"] is False
    mongo.release("run-m")


def test_runs_are_separate_servers(
    mongo: MongoService, make_netns: Callable[[], Netns], host_node: Netns
) -> None:
    ns1, ns2 = make_netns(), make_netns()
    g1 = mongo.provision("run-m1", ns1.path)
    g2 = mongo.provision("run-m2", ns2.path)
    try:
        assert ns1.node(NODE_MONGOOSE, {**g1.env, "NOMBRE": "uno"})["nombres"] == ["uno", "segundo"]
        # Same URI text, other namespace, other server: run 1's data is not there.
        assert ns2.node(NODE_MONGOOSE, {**g2.env, "NOMBRE": "dos"})["nombres"] == ["dos", "segundo"]
        # Not reachable from the host's 127.0.0.1:27017 either.
        assert host_node.node(NODE_PING, dict(g1.env))["ok"] is False
    finally:
        mongo.release("run-m1")
        mongo.release("run-m2")


def test_sweep_kills_and_removes_crash_leftovers(
    mongo: MongoService, mongo_config: MongoConfig, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    crashed = MongoService(mongo_config)
    crashed.provision("run-crash", ns.path)
    run = crashed._runs.pop("run-crash")  # the worker died: nobody will release it
    assert run.forwarder is not None and run.pid is not None and run.directory
    run.forwarder.close()
    assert run.name not in mongo.sweep()  # too young for the default age
    assert run.name in mongo.sweep(min_age_seconds=0)
    if run.process is not None:
        run.process.wait(timeout=5)  # reap it: in a real crash init does
    assert _gone(run.pid)
    assert not run.directory.exists()
    crashed.close()


def _start_server(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)


@pytest.fixture
def real_mongo_uri(mongo_config: MongoConfig, tmp_path: Path) -> Iterator[str]:
    """A server standing in for production's MongoDB: on the host, with --auth, an admin
    user made the way SecantusDB (and mongod) bootstrap one: before auth is turned on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "empty.toml").write_text("")
    argv = [
        *mongo_config.server_argv,
        "--config",
        str(tmp_path / "empty.toml"),
        "--port",
        str(port),
        "--storage-path",
        str(tmp_path / "data"),
        "--standalone",
        "--log-level",
        "WARNING",
    ]
    proc = _start_server(argv, port)
    try:
        with MongoClient(port=port, directConnection=True) as c:
            c["admin"].command("createUser", "root", pwd="rootpw", roles=["root"])
    finally:
        proc.terminate()  # a clean stop: SIGKILL would lose the user not yet on disk
        proc.wait()
    proc = _start_server([*argv, "--auth"], port)
    try:
        yield f"mongodb://root:rootpw@127.0.0.1:{port}/?authSource=admin&directConnection=true"
    finally:
        proc.kill()
        proc.wait()


def test_configured_server_database_and_user_per_run(
    real_mongo_uri: str, make_netns: Callable[[], Netns]
) -> None:
    svc = MongoService(MongoConfig(uri=real_mongo_uri, prefix=PREFIX))
    ns1, ns2 = make_netns(), make_netns()
    try:
        g1 = svc.provision("run-p1", ns1.path)
        g2 = svc.provision("run-p2", ns2.path)
        uri1 = g1.env["MONGODB_URI"]
        assert uri1.startswith("mongodb://") and "@127.0.0.1:27017/" in uri1
        out = ns1.node(NODE_MONGOOSE, {**g1.env, "NOMBRE": "uno"})
        assert out["ok"] is True and out["dup"]["e11000"] is True, out
        # Run 2's user cannot read run 1's database on the shared server.
        db1 = svc.grader_env("run-p1")["MONGODB_DB"]
        stolen = g2.env["MONGODB_URI"].replace(
            "/" + svc.grader_env("run-p2")["MONGODB_DB"] + "?", "/" + db1 + "?", 1
        )
        out = ns2.node(NODE_MONGOOSE, {"MONGODB_URI": stolen, "NOMBRE": "x"})
        assert out["ok"] is False
        # A wrong password is refused.
        user2 = svc._runs["run-p2"].name
        bad = g2.env["MONGODB_URI"].replace(f"{user2}:", f"{user2}:x", 1)
        assert ns2.node(NODE_PING, {"MONGODB_URI": bad})["ok"] is False
        with MongoClient(svc.grader_env("run-p1")["MONGODB_URI"]) as c:
            assert c[db1]["usuarios"].count_documents({}) == 2
        svc.release("run-p1")
        svc.release("run-p2")
        admin = svc._admin()
        assert not [n for n in admin.list_database_names() if n.startswith(PREFIX)]
        assert list(admin["admin"]["system.users"].find({"db": {"$regex": "^" + PREFIX}})) == []
        # Sweep: a database and user left by a crashed worker.
        crashed = MongoService(MongoConfig(uri=real_mongo_uri, prefix=PREFIX))
        crashed.provision("run-crash", ns1.path)
        left = crashed._runs.pop("run-crash")
        assert left.forwarder is not None
        left.forwarder.close()
        crashed._admin()[left.name]["x"].insert_one({"a": 1})
        assert svc.sweep(min_age_seconds=0) == [left.name]
        assert left.name not in admin.list_database_names()
        crashed.close()
    finally:
        svc.close()


def test_exec_mode_without_launcher(
    mongo_config: MongoConfig, make_netns: Callable[[], Netns]
) -> None:
    """The plain way (nsenter + setpriv + the server's own command), kept as fallback."""
    svc = MongoService(replace(mongo_config, prefork=False))
    ns = make_netns()
    try:
        grant = svc.provision("run-exec", ns.path)
        run = svc._runs["run-exec"]
        assert run.process is not None and run.pid == run.process.pid
        assert ns.node(NODE_PING, dict(grant.env))["ok"] is True
        svc.release("run-exec")
        assert run.process.returncode is not None
        assert run.directory is not None and not run.directory.exists()
    finally:
        svc.close()
