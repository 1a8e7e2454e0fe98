const express = require("express");

const app = express();

app.get("/rapido", (req, res) => {
  res.json({ ok: true });
});

// La definición recursiva que pide el enunciado (lenta a propósito).
function fib(n) {
  return n <= 2 ? 1 : fib(n - 1) + fib(n - 2);
}

// TODO: GET /lento responde {"ok": true} después de un segundo, sin bloquear.

// TODO: GET /fib?n=N (1 ≤ N ≤ 40) responde {"n": N, "resultado": fib(N)},
// calculado FUERA del hilo principal (worker_threads o un proceso hijo);
// sin n, o fuera de rango, responde 400 {"error": "..."}.

app.listen(process.env.PORT || 3000);
