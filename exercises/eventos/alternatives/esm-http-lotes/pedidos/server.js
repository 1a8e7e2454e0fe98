// ES modules, plain node:http, and a producer that waits for every replica's ack.
import http from "node:http";
import kafkajs from "kafkajs";

const { Kafka, CompressionTypes } = kafkajs;
const kafka = new Kafka({ clientId: "pedidos-esm", brokers: process.env.KAFKA_BROKERS.split(",") });
const productor = kafka.producer({ idempotent: false });
let ultimoId = 0;

function responder(res, estado, cuerpo) {
  res.writeHead(estado, { "Content-Type": "application/json" });
  res.end(JSON.stringify(cuerpo));
}

function leerJson(req) {
  return new Promise((resolve) => {
    let datos = "";
    req.on("data", (trozo) => (datos += trozo));
    req.on("end", () => {
      try {
        resolve(JSON.parse(datos));
      } catch {
        resolve(null);
      }
    });
  });
}

const servidor = http.createServer(async (req, res) => {
  if (req.method !== "POST" || req.url !== "/pedidos") return responder(res, 404, { error: "No existe." });
  const cuerpo = await leerJson(req);
  const valido =
    cuerpo && Number.isInteger(cuerpo.usuarioId) && cuerpo.usuarioId >= 1 &&
    typeof cuerpo.producto === "string" && cuerpo.producto.trim() !== "";
  if (!valido) return responder(res, 400, { error: "Pedido inválido." });
  const pedido = { id: ++ultimoId, usuarioId: cuerpo.usuarioId, producto: cuerpo.producto };
  productor
    .send({
      topic: "pedidos.creados",
      acks: -1,
      compression: CompressionTypes.None,
      messages: [{ key: `${pedido.usuarioId}`, value: JSON.stringify(pedido) }],
    })
    .then(
      () => responder(res, 201, pedido),
      () => responder(res, 503, { error: "Kafka no confirmó el evento." }),
    );
});

await productor.connect();
servidor.listen(Number(process.env.PORT));

process.once("SIGTERM", () => {
  servidor.close();
  productor.disconnect().finally(() => process.exit(0));
});
