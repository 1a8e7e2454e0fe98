from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from pymongo import MongoClient
from taller_grader.sandbox.services import MongoConfig, MongoService

from .conftest import Netns

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
})().catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) })); });
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
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie not yet reaped by its parent counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_mongoose_like_mongodb_and_release(
    mongo: MongoService, make_netns: Callable[[], Netns]
) -> None:
    ns = make_netns()
    grant = mongo.provision("run-m", ns.path)
    uri = grant.env["MONGODB_URI"]
    assert uri.startswith("mongodb://127.0.0.1:27017/")
    run = mongo._runs["run-m"]
    assert run.process is not None and run.directory is not None
    if os.geteuid() == 0:
        assert run.directory.stat().st_uid != 0  # the server runs unprivileged

    out = ns.node(NODE_MONGOOSE, {**grant.env, "NOMBRE": "ana"})
    assert out["ok"] is True, out
    assert out["dup"] == {
        "code": 11000, "e11000": True,
        "keyPattern": {"email": 1}, "keyValue": {"email": "a@x.com"},
    }
    assert out["nombres"] == ["ana", "segundo"] and out["byId"] == "ana"

    # The grader reads the collection from the host.
    env = mongo.grader_env("run-m")
    with MongoClient(env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as client:
        docs = list(client[env["MONGODB_DB"]]["usuarios"].find({}, {"_id": 0, "email": 1}))
    assert sorted(d["email"] for d in docs) == ["a@x.com", "b@x.com"]

    pid, directory = run.process.pid, run.directory
    mongo.release("run-m")
    assert _gone(pid)
    assert not directory.exists()
    assert ns.node(NODE_PING, dict(grant.env))["ok"] is False
    mongo.release("run-m")


def test_runs_are_separate_servers(mongo: MongoService, make_netns: Callable[[], Netns],
                                   host_node: Netns) -> None:
    ns1, ns2 = make_netns(), make_netns()
    g1 = mongo.provision("run-m1", ns1.path)
    g2 = mongo.provision("run-m2", ns2.path)
    try:
        assert ns1.node(NODE_MONGOOSE, {**g1.env, "NOMBRE": "uno"})["nombres"] == [
            "uno", "segundo"]
        # Same URI text, other namespace, other server: run 1's data is not there.
        assert ns2.node(NODE_MONGOOSE, {**g2.env, "NOMBRE": "dos"})["nombres"] == [
            "dos", "segundo"]
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
    assert run.forwarder is not None and run.process is not None and run.directory
    run.forwarder.close()
    assert run.name not in mongo.sweep()  # too young for the default age
    t = time.monotonic()
    assert run.name in mongo.sweep(min_age_seconds=0)
    run.process.wait(timeout=5)  # reap it: in a real crash init does
    assert time.monotonic() - t < 5
    assert not run.directory.exists()
