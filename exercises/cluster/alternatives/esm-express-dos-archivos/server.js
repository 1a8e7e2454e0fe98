// Módulos ES; el primario en server.js, los workers ejecutan worker.js (setupPrimary).
import cluster from "node:cluster";
import os from "node:os";
import { fileURLToPath } from "node:url";

const total = parseInt(process.env.WORKERS ?? "", 10) || os.cpus().length;
let apagando = false;

cluster.setupPrimary({ exec: fileURLToPath(new URL("./worker.js", import.meta.url)) });
for (let i = 0; i < total; i++) cluster.fork();

cluster.on("exit", (worker, code) => {
  if (apagando) return;
  console.error(`worker ${worker.process.pid} salió con código ${code}; lo reemplazo`);
  cluster.fork();
});

// El primario reenvía SIGTERM a cada worker; ellos cierran su servidor y salen.
process.on("SIGTERM", () => {
  apagando = true;
  for (const worker of Object.values(cluster.workers)) worker.process.kill("SIGTERM");
});
