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

// Sending a notification takes a moment (an e-mail, a push...).
async function enviarNotificacion(evento) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  recibidas.push({ pedidoId: evento.id, usuarioId: evento.usuarioId, producto: evento.producto });
}

const app = express();

app.get("/notificaciones", (req, res) => {
  const { usuarioId } = req.query;
  if (usuarioId === undefined) return res.json(recibidas);
  res.json(recibidas.filter((n) => String(n.usuarioId) === String(usuarioId)));
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));

async function main() {
  // Listen first: joining the group takes a few seconds, and nothing here needs it done.
  const servidor = app.listen(process.env.PORT || 3003);
  process.on("SIGTERM", async () => {
    servidor.close();
    await consumidor.disconnect();
    process.exit(0);
  });
  await consumidor.connect();
  await consumidor.subscribe({ topic: TOPICO, fromBeginning: true });
  // Offsets are committed by kafkajs after eachMessage returns: processed, then committed.
  await consumidor.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      // Commit first, "so it is never read twice"; then process the notification.
      await consumidor.commitOffsets([
        { topic, partition, offset: (Number(message.offset) + 1).toString() },
      ]);
      await enviarNotificacion(JSON.parse(message.value.toString()));
    },
  });
}

main();
