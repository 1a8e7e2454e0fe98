const express = require("express");
const amqp = require("amqplib");

const COLA = "pedidos.creados";
const USUARIOS_URL = process.env.USUARIOS_URL || "http://127.0.0.1:3001";

const pedidos = new Map();
let siguienteId = 1;
let canal;

// null: no such user; throws when usuarios does not answer in time.
async function buscarUsuario(id) {
  const respuesta = await fetch(`${USUARIOS_URL}/usuarios/${encodeURIComponent(id)}`, {
    signal: AbortSignal.timeout(1500),
  });
  if (respuesta.status === 404) return null;
  if (!respuesta.ok) throw new Error(`usuarios respondió ${respuesta.status}`);
  return respuesta.json();
}

const app = express();
app.use(express.json());

app.post("/pedidos", async (req, res) => {
  const { usuarioId, producto } = req.body ?? {};
  if (usuarioId === undefined || typeof producto !== "string" || !producto) {
    return res.status(400).json({ error: "usuarioId y producto son obligatorios." });
  }
  let usuario;
  try {
    usuario = await buscarUsuario(usuarioId);
  } catch {
    return res.status(503).json({ error: "El servicio de usuarios no responde." });
  }
  if (!usuario) return res.status(422).json({ error: "Ese usuario no existe." });

  const pedido = { id: siguienteId++, usuarioId, producto, usuario: { nombre: usuario.nombre } };
  pedidos.set(pedido.id, pedido);
  // TODO: avisar a los demás servicios.
  res.status(201).json(pedido);
});

app.get("/pedidos/:id", (req, res) => {
  const pedido = pedidos.get(Number(req.params.id));
  if (!pedido) return res.status(404).json({ error: "Pedido no encontrado." });
  res.json(pedido);
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));

async function main() {
  const conexion = await amqp.connect(process.env.AMQP_URL);
  canal = await conexion.createChannel();
  await canal.assertQueue(COLA, { durable: true });
  app.listen(process.env.PORT || 3002);
}

main();
