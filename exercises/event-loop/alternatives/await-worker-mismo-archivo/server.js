const { Worker, isMainThread, parentPort, workerData } = require("node:worker_threads");

function fib(n) {
  if (n <= 2) return 1;
  return fib(n - 1) + fib(n - 2);
}

if (!isMainThread) {
  parentPort.postMessage(fib(workerData));
} else {
  const express = require("express");
  const { setTimeout: esperar } = require("node:timers/promises");
  const app = express();

  const enWorker = (n) =>
    new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: n });
      w.on("message", resolve).on("error", reject);
    });

  app.get("/rapido", (req, res) => res.json({ ok: true }));

  app.get("/lento", async (req, res) => {
    await esperar(1000);
    res.json({ ok: true });
  });

  app.get("/fib", async (req, res) => {
    const n = Number.parseInt(req.query.n, 10);
    if (!/^\d+$/.test(String(req.query.n ?? "")) || n < 1 || n > 40) {
      res.status(400).json({ error: "Parámetro n inválido (1..40)" });
      return;
    }
    res.json({ n, resultado: await enWorker(n) });
  });

  app.listen(3000, () => console.log("Escuchando en el puerto 3000"));
}
