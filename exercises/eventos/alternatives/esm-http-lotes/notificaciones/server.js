// ES modules, plain node:http, eachBatch with explicit offsets and commits.
import http from "node:http";
import { URL } from "node:url";
import kafkajs from "kafkajs";

const kafka = new kafkajs.Kafka({
  clientId: "notificaciones-esm",
  brokers: process.env.KAFKA_BROKERS.split(","),
  logLevel: kafkajs.logLevel.ERROR,
});
const consumidor = kafka.consumer({
  groupId: "notificaciones",
  sessionTimeout: 8000,
  heartbeatInterval: 1000,
  maxWaitTimeInMs: 300,
});
const porUsuario = new Map();
const todas = [];

const servidor = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (req.method !== "GET" || url.pathname !== "/notificaciones") {
    res.writeHead(404, { "Content-Type": "application/json" });
    return res.end(JSON.stringify({ error: "No existe." }));
  }
  const usuario = url.searchParams.get("usuarioId");
  const lista = usuario === null ? todas : porUsuario.get(Number(usuario)) ?? [];
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(JSON.stringify(lista));
});
servidor.listen(Number(process.env.PORT));

await consumidor.connect();
await consumidor.subscribe({ topics: ["pedidos.creados"], fromBeginning: true });
await consumidor.run({
  eachBatchAutoResolve: false,
  autoCommit: false,
  eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
    for (const mensaje of batch.messages) {
      const { id, usuarioId, producto } = JSON.parse(mensaje.value.toString());
      const nota = { pedidoId: id, usuarioId, producto };
      todas.push(nota);
      if (!porUsuario.has(usuarioId)) porUsuario.set(usuarioId, []);
      porUsuario.get(usuarioId).push(nota);
      resolveOffset(mensaje.offset);
      await heartbeat();
    }
    // autoCommit is off: commitOffsetsIfNecessary() would commit nothing.
    await consumidor.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (Number(batch.lastOffset()) + 1).toString() },
    ]);
  },
});

process.once("SIGTERM", async () => {
  servidor.close();
  await consumidor.disconnect();
  process.exit(0);
});
