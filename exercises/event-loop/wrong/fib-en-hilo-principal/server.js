const express = require("express");

const app = express();

app.get("/rapido", (req, res) => {
  res.json({ ok: true });
});

app.get("/lento", (req, res) => {
  setTimeout(() => res.json({ ok: true }), 1000);
});

function fib(n) {
  return n <= 2 ? 1 : fib(n - 1) + fib(n - 2);
}

// Calcula en el propio hilo del servidor: mientras tanto no atiende a nadie.
app.get("/fib", (req, res) => {
  const n = Number(req.query.n);
  if (req.query.n === undefined || !Number.isInteger(n) || n < 1 || n > 40) {
    return res.status(400).json({ error: "n debe ser un número entero entre 1 y 40" });
  }
  res.json({ n, resultado: fib(n) });
});

app.listen(process.env.PORT || 3000);
