// MAL A PROPÓSITO: con SIGTERM los workers esperan un rato antes de salir, pero no cierran
// el servidor: mientras tanto siguen aceptando conexiones nuevas.
const cluster = require("node:cluster");
const os = require("node:os");
const express = require("express");

if (cluster.isPrimary) {
  const n = Number(process.env.WORKERS) || os.cpus().length;
  let apagando = false;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on("exit", () => {
    if (!apagando) cluster.fork();
  });
  process.on("SIGTERM", () => {
    apagando = true;
    for (const w of Object.values(cluster.workers)) w.send("apagar");
  });
} else {
  const app = express();
  app.get("/", (req, res) => res.json({ pid: process.pid }));
  app.get("/lento", (req, res) => setTimeout(() => res.json({ ok: true }), 1000));
  app.get("/caer", (req, res) => {
    res.json({ adios: process.pid });
    setTimeout(() => process.exit(1), 50);
  });
  app.listen(process.env.PORT || 3000);
  process.on("message", (msg) => {
    // «Doy tiempo a que terminen las peticiones»... y a que lleguen otras nuevas.
    if (msg === "apagar") setTimeout(() => process.exit(0), 1500);
  });
}
