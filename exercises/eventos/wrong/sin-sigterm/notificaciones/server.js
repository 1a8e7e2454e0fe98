const express = require("express");
const { Kafka, logLevel } = require("kafkajs");

const TOPICO = "pedidos.creados";
const kafka = new Kafka({
  clientId: "notificaciones",
  brokers: process.env.KAFKA_BROKERS.split(","),
  logLevel: logLevel.WARN,
});
// The same group id at every start: the group's committed offsets say where to resume.
// A join waits half the sessionTimeout here, a fetch up to maxWaitTimeInMs: short
// values keep restarts and rebalances quick.
const consumidor = kafka.consumer({
  groupId: "notificaciones",
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 500,
});

const recibidas = [];

const app = express();

app.get("/notificaciones", (req, res) => {
  const { usuarioId } = req.query;
  if (usuarioId === undefined) return res.json(recibidas);
  res.json(recibidas.filter((n) => String(n.usuarioId) === String(usuarioId)));
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));

async function main() {
  // Listen first: joining the group takes a few seconds, and nothing here needs it done.
  app.listen(process.env.PORT || 3003);
  await consumidor.connect();
  await consumidor.subscribe({ topic: TOPICO, fromBeginning: true });
  // Offsets are committed by kafkajs after eachMessage returns: processed, then committed.
  await consumidor.run({
    eachMessage: async ({ message }) => {
      const evento = JSON.parse(message.value.toString());
      recibidas.push({ pedidoId: evento.id, usuarioId: evento.usuarioId, producto: evento.producto });
    },
  });
}

main();
