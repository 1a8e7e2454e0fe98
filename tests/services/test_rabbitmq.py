from __future__ import annotations

from collections.abc import Callable

import pytest

from taller_grader.sandbox.services import RabbitConfig, RabbitMQService, new_name

from .conftest import PREFIX, Netns

# What `pedidos` does: publish orders to the durable queue `pedidos.creados`.
NODE_PUBLISH = """
const amqp = require('amqplib');
(async () => {
  const conn = await amqp.connect(process.env.AMQP_URL);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('pedidos.creados', { durable: true });
  for (const id of [1, 2, 3]) {
    ch.sendToQueue('pedidos.creados',
      Buffer.from(JSON.stringify({ id, usuarioId: 1, producto: process.env.TAG })),
      { persistent: true, contentType: 'application/json' });
  }
  await ch.waitForConfirms();
  await conn.close();
  console.log(JSON.stringify({ ok: true }));
})().catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) })); });
"""

# The grader side: consume what the run published. amqplib too, on the host.
NODE_CONSUME = """
const amqp = require('amqplib');
(async () => {
  const conn = await amqp.connect(process.env.AMQP_URL);
  const ch = await conn.createChannel();
  await ch.assertQueue('pedidos.creados', { durable: true });
  const got = [];
  for (;;) {
    const m = await ch.get('pedidos.creados', { noAck: true });
    if (!m) break;
    got.push(JSON.parse(m.content.toString()));
  }
  await conn.close();
  console.log(JSON.stringify({ ok: true, got }));
})().catch(e => { console.log(JSON.stringify({ ok: false, error: String(e.message || e) })); });
"""


def _names(svc: RabbitMQService, kind: str) -> set[str]:
    items = svc._api("GET", f"/api/{kind}?columns=name")
    assert isinstance(items, list)
    return {str(i["name"]) for i in items}


def test_publish_consume_and_release(
    rabbitmq: RabbitMQService, make_netns: Callable[[], Netns], host_node: Netns
) -> None:
    ns = make_netns()
    grant = rabbitmq.provision("run-r", ns.path)
    url = grant.env["AMQP_URL"]
    assert url.startswith("amqp://") and "@127.0.0.1:5672/" in url
    assert ns.node(NODE_PUBLISH, {**grant.env, "TAG": "libro"}) == {"ok": True}

    out = host_node.node(NODE_CONSUME, dict(rabbitmq.grader_env("run-r")))
    assert out["ok"] is True
    assert out["got"] == [{"id": i, "usuarioId": 1, "producto": "libro"} for i in (1, 2, 3)]

    vhost = rabbitmq.grader_env("run-r")["AMQP_VHOST"]
    rabbitmq.release("run-r")
    assert vhost not in _names(rabbitmq, "vhosts")
    assert vhost not in _names(rabbitmq, "users")
    rabbitmq.release("run-r")
    assert ns.node(NODE_PUBLISH, {**grant.env, "TAG": "x"})["ok"] is False


def test_runs_cannot_see_each_other(
    rabbitmq: RabbitMQService, make_netns: Callable[[], Netns]
) -> None:
    ns1, ns2 = make_netns(), make_netns()
    g1 = rabbitmq.provision("run-r1", ns1.path)
    g2 = rabbitmq.provision("run-r2", ns2.path)
    try:
        assert ns1.node(NODE_PUBLISH, {**g1.env, "TAG": "uno"})["ok"] is True
        out = ns2.node(NODE_CONSUME, dict(g2.env))
        assert out == {"ok": True, "got": []}
        # Run 2's user on run 1's vhost: refused.
        v1 = rabbitmq.grader_env("run-r1")["AMQP_VHOST"]
        v2 = rabbitmq.grader_env("run-r2")["AMQP_VHOST"]
        stolen = g2.env["AMQP_URL"].rsplit("/", 1)[0] + "/" + v1
        assert v1 != v2
        out = ns2.node(NODE_CONSUME, {"AMQP_URL": stolen})
        assert out["ok"] is False
        # guest/guest, the broker's default user, does not get through from a run.
        guest = "amqp://guest:guest@127.0.0.1:5672/"
        assert ns2.node(NODE_CONSUME, {"AMQP_URL": guest})["ok"] is False
    finally:
        rabbitmq.release("run-r1")
        rabbitmq.release("run-r2")


def test_sweep_removes_crash_leftovers(rabbitmq: RabbitMQService) -> None:
    crashed = RabbitMQService(RabbitConfig(prefix=PREFIX))
    old = new_name(PREFIX)
    crashed._create(old, "pw")  # a worker died between provision and release
    try:
        assert old not in rabbitmq.sweep()  # too young for the default age
        assert old in rabbitmq.sweep(min_age_seconds=0)
        assert old not in _names(rabbitmq, "vhosts") | _names(rabbitmq, "users")
    finally:
        crashed._delete(old)
        crashed.close()


def _start_ok(mechanism: bytes, response: bytes) -> bytes:
    import struct

    payload = struct.pack(">HH", 10, 11) + struct.pack(">I", 0)
    payload += bytes([len(mechanism)]) + mechanism
    payload += struct.pack(">I", len(response)) + response + b"\x05en_US"
    frame = struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce"
    return b"AMQP\x00\x00\x09\x01" + frame


def _amqplain(login: bytes, password: bytes) -> bytes:
    import struct

    out = b""
    for key, value in ((b"LOGIN", login), (b"PASSWORD", password)):
        out += bytes([len(key)]) + key + b"S" + struct.pack(">I", len(value)) + value
    return out


@pytest.mark.parametrize(
    ("mechanism", "response"),
    [
        (b"PLAIN", b"\x00tlr_run\x00secret"),
        (b"AMQPLAIN", _amqplain(b"tlr_run", b"secret")),
    ],
)
def test_the_gate_admits_the_runs_own_user_with_either_mechanism(
    mechanism: bytes, response: bytes
) -> None:
    from taller_grader.sandbox.services.rabbitmq import AmqpUserGate

    data = _start_ok(mechanism, response)
    assert AmqpUserGate("tlr_run").feed(data) == data


@pytest.mark.parametrize(
    ("mechanism", "response"),
    [
        (b"PLAIN", b"\x00guest\x00guest"),
        (b"AMQPLAIN", _amqplain(b"guest", b"guest")),
        (b"EXTERNAL", b""),
    ],
)
def test_the_gate_cuts_any_other_login(mechanism: bytes, response: bytes) -> None:
    from taller_grader.sandbox.services.rabbitmq import AmqpUserGate, GateRejected

    with pytest.raises(GateRejected):
        AmqpUserGate("tlr_run").feed(_start_ok(mechanism, response))
