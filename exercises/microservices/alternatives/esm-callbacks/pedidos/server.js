// node:http, el API de callbacks de amqplib y http.get con su propio tiempo límite.
import http from "node:http";
import amqp from "amqplib/callback_api.js";

const pedidos = [];

function json(res, estado, cuerpo) {
  res.writeHead(estado, { "Content-Type": "application/json" });
  res.end(JSON.stringify(cuerpo));
}

function preguntarUsuario(id, listo) {
  const peticion = http.get(`${process.env.USUARIOS_URL}/usuarios/${id}`, { timeout: 1500 }, (r) => {
    let datos = "";
    r.on("data", (t) => (datos += t));
    r.on("end", () => listo(null, r.statusCode === 200 ? JSON.parse(datos) : null));
  });
  peticion.on("timeout", () => peticion.destroy(new Error("tiempo agotado")));
  peticion.on("error", (err) => listo(err));
}

amqp.connect(process.env.AMQP_URL, (err, conexion) => {
  if (err) throw err;
  conexion.createChannel((err2, canal) => {
    if (err2) throw err2;
    canal.assertQueue("pedidos.creados", { durable: true }, () => {
      http
        .createServer((req, res) => {
          const m = /^\/pedidos\/(\d+)$/.exec(req.url);
          if (req.method === "GET" && m) {
            const pedido = pedidos[Number(m[1]) - 1];
            return pedido ? json(res, 200, pedido) : json(res, 404, { error: "no existe" });
          }
          if (req.method !== "POST" || req.url !== "/pedidos") return json(res, 404, { error: "no existe" });
          let datos = "";
          req.on("data", (t) => (datos += t));
          req.on("end", () => {
            let cuerpo;
            try {
              cuerpo = JSON.parse(datos);
            } catch {
              return json(res, 400, { error: "JSON mal formado" });
            }
            preguntarUsuario(cuerpo.usuarioId, (fallo, usuario) => {
              if (fallo) return json(res, 503, { error: "usuarios no responde" });
              if (!usuario) return json(res, 422, { error: "usuario desconocido" });
              const pedido = {
                id: pedidos.length + 1,
                usuarioId: cuerpo.usuarioId,
                producto: cuerpo.producto,
                usuario: { nombre: usuario.nombre },
              };
              pedidos.push(pedido);
              const { id, usuarioId, producto } = pedido;
              canal.sendToQueue("pedidos.creados", Buffer.from(JSON.stringify({ id, usuarioId, producto })), {
                persistent: true,
              });
              json(res, 201, pedido);
            });
          });
        })
        .listen(process.env.PORT);
    });
  });
});
