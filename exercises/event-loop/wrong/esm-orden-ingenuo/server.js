import path from "node:path";
import { Worker } from "node:worker_threads";
import express from "express";

const app = express();
const trabajador = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), "fib-worker.cjs");

app.get("/rapido", (req, res) => res.json({ ok: true }));
app.get("/lento", (req, res) => setTimeout(() => res.json({ ok: true }), 1000));
app.get("/fib", async (req, res) => {
  const n = Number(req.query.n);
  if (req.query.n === undefined || !Number.isInteger(n) || n < 1 || n > 40) {
    return res.status(400).json({ error: "n inválido" });
  }
  const resultado = await new Promise((resolve, reject) => {
    const w = new Worker(trabajador, { workerData: n });
    w.once("message", resolve);
    w.once("error", reject);
  });
  res.json({ n, resultado });
});
app.listen(process.env.PORT || 3000);
