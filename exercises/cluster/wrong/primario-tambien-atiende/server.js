// MAL A PROPÓSITO: falta el «else»: el primario también crea el servidor y escucha.
const cluster = require("node:cluster");
const os = require("node:os");
const http = require("node:http");

if (cluster.isPrimary) {
  const cuantos = Number(process.env.WORKERS) || os.availableParallelism();
  let cerrando = false;
  for (let i = 0; i < cuantos; i++) cluster.fork();
  cluster.on("exit", (worker) => {
    if (!cerrando && !worker.exitedAfterDisconnect) cluster.fork();
  });
  process.on("SIGTERM", () => {
    cerrando = true;
    for (const worker of Object.values(cluster.workers)) worker.disconnect();
    servidor.close();
  });
}

const servidor = http.createServer((req, res) => {
  const responder = (status, cuerpo) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(cuerpo));
  };
  if (req.url === "/") responder(200, { pid: process.pid });
  else if (req.url === "/lento") setTimeout(() => responder(200, { ok: true }), 1000);
  else if (req.url === "/caer") {
    responder(200, { ok: true });
    res.on("finish", () => process.exit(1));
  } else responder(404, { error: "No encontrado." });
});
servidor.listen(Number(process.env.PORT) || 3000);
