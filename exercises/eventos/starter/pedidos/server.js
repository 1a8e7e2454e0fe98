const express = require("express");
const { Kafka } = require("kafkajs");

const kafka = new Kafka({ clientId: "pedidos", brokers: process.env.KAFKA_BROKERS.split(",") });
const productor = kafka.producer();

const app = express();
app.use(express.json());

// POST /pedidos {"usuarioId", "producto"} → 201 {"id", "usuarioId", "producto"},
// after publishing the order to the topic pedidos.creados (key: String(usuarioId)).

async function main() {
  await productor.connect();
  app.listen(process.env.PORT || 3002);
  // On SIGTERM: disconnect the producer, then exit.
}

main();
