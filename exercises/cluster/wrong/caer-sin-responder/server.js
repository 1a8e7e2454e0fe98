// MAL A PROPÓSITO: GET /caer termina el worker sin llegar a responder 200.
const cluster = require("node:cluster");
const os = require("node:os");
const http = require("node:http");

if (cluster.isPrimary) {
  // WORKERS manda; sin ella, un worker por CPU, como en el ejemplo del curso.
  const cuantos = Number(process.env.WORKERS) || os.availableParallelism();
  let cerrando = false;

  for (let i = 0; i < cuantos; i++) cluster.fork();

  cluster.on("exit", (worker, code, signal) => {
    if (cerrando || worker.exitedAfterDisconnect) return; // un cierre pedido: no se repone
    console.log(`worker ${worker.process.pid} terminó (${signal || code}); arranco otro`);
    cluster.fork();
  });

  process.on("SIGTERM", () => {
    cerrando = true;
    console.log("SIGTERM: cierre ordenado");
    // disconnect() hace que cada worker cierre su servidor (ya no acepta conexiones
    // nuevas), termine las peticiones en curso y salga. El primario sale solo
    // cuando ya no le queda ningún worker.
    for (const worker of Object.values(cluster.workers)) worker.disconnect();
    // Por si alguna petición no terminara nunca: un límite.
    setTimeout(() => process.exit(1), 4000).unref();
  });
} else {
  const servidor = http.createServer((req, res) => {
    const responder = (status, cuerpo) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(cuerpo));
    };
    const ruta = new URL(req.url, "http://localhost").pathname;
    if (req.method === "GET" && ruta === "/") {
      responder(200, { pid: process.pid });
    } else if (req.method === "GET" && ruta === "/lento") {
      setTimeout(() => responder(200, { pid: process.pid, lento: true }), 1000);
    } else if (req.method === "GET" && ruta === "/caer") {
      process.exit(1); // termina antes de responder: el cliente no recibe nada
    } else {
      responder(404, { error: "No encontrado." });
    }
  });
  servidor.listen(Number(process.env.PORT) || 3000);
}
