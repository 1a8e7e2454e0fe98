const cluster = require("node:cluster");
const os = require("node:os");
const http = require("node:http");

if (cluster.isPrimary) {
  // El ejemplo del curso: un worker por CPU.
  // TODO: arranca tantos workers como diga process.env.WORKERS (si no está, uno por CPU).
  os.cpus().forEach(() => cluster.fork());

  // TODO: cuando un worker termine, arranca otro (cluster.on("exit", ...)).
  // TODO: con SIGTERM, cierre ordenado: sin conexiones nuevas, terminar las que están en
  //       curso y salir.
} else {
  const servidor = http.createServer((req, res) => {
    if (req.url === "/") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ pid: process.pid }));
      return;
    }
    // TODO: GET /lento y GET /caer (ver el enunciado).
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: "No encontrado" }));
  });
  servidor.listen(process.env.PORT || 3000);
}
