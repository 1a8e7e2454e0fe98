const express = require("express");
const { Kafka, logLevel } = require("kafkajs");

const TOPICO = "pedidos.creados";
const kafka = new Kafka({
  clientId: "pedidos",
  brokers: process.env.KAFKA_BROKERS.split(","),
  logLevel: logLevel.WARN,
});
const productor = kafka.producer();

let siguienteId = 1;
const app = express();
app.use(express.json());

app.post("/pedidos", async (req, res) => {
  const { usuarioId, producto } = req.body ?? {};
  if (!Number.isInteger(usuarioId) || usuarioId < 1 || typeof producto !== "string" || !producto.trim()) {
    return res.status(400).json({ error: "usuarioId (entero ≥ 1) y producto son obligatorios." });
  }
  const pedido = { id: siguienteId++, usuarioId, producto };
  try {
    // The key keeps one user's events in one partition, in order; the 201 goes out only
    // once the broker has acknowledged the event.
    await productor.send({
      topic: TOPICO,
      messages: [{ value: JSON.stringify(pedido) }],
    });
  } catch (err) {
    return res.status(503).json({ error: "No se pudo publicar el evento." });
  }
  res.status(201).json(pedido);
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));

async function main() {
  await productor.connect();
  const servidor = app.listen(process.env.PORT || 3002);
  process.on("SIGTERM", async () => {
    servidor.close();
    await productor.disconnect();
    process.exit(0);
  });
}

main();
