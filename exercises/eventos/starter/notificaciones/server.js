const express = require("express");
const { Kafka } = require("kafkajs");

const kafka = new Kafka({ clientId: "notificaciones", brokers: process.env.KAFKA_BROKERS.split(",") });
// Group "notificaciones"; see the statement for sessionTimeout and heartbeatInterval.
const consumidor = kafka.consumer({ groupId: "notificaciones" });

const recibidas = [];
const app = express();

// GET /notificaciones[?usuarioId=N] → the events received since this process started.

async function main() {
  await consumidor.connect();
  // subscribe to pedidos.creados, run, and list each event in `recibidas`.
  app.listen(process.env.PORT || 3003);
  // On SIGTERM: disconnect the consumer, then exit.
}

main();
