const path = require("node:path");
const { Worker } = require("node:worker_threads");
const express = require("express");

const app = express();

app.get("/rapido", (req, res) => {
  res.json({ ok: true });
});

// Esperar no bloquea: el temporizador deja libre el event loop mientras tanto.
app.get("/lento", (req, res) => {
  setTimeout(() => res.json({ ok: true }), 1000);
});

function fibEnOtroHilo(n) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, "fib-worker.js"), { workerData: n });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`el worker terminó con código ${code}`));
    });
  });
}

app.get("/fib", async (req, res) => {
  const n = Number(req.query.n);
  if (req.query.n === undefined || !Number.isInteger(n) || n < 1 || n > 40) {
    return res.status(400).json({ error: "n debe ser un número entero entre 1 y 40" });
  }
  const resultado = await fibEnOtroHilo(n);
  res.json({ n, resultado });
});

app.listen(process.env.PORT || 3000);
