// Guarda en un arreglo: parece funcionar, pero nada llega a MongoDB.
const express = require("express");
const crypto = require("node:crypto");

const app = express();
app.use(express.json());
const usuarios = [];

app.post("/api/usuarios", (req, res) => {
  const { nombre, email } = req.body || {};
  if (typeof nombre !== "string" || !nombre || typeof email !== "string" || !email.includes("@")) {
    return res.status(400).json({ error: "Datos inválidos." });
  }
  if (usuarios.some((u) => u.email === email)) return res.status(409).json({ error: "Repetido." });
  const usuario = { id: crypto.randomBytes(12).toString("hex"), nombre, email };
  usuarios.push(usuario);
  res.status(201).json(usuario);
});
app.get("/api/usuarios", (req, res) => res.json(usuarios));
app.get("/api/usuarios/:id", (req, res) => {
  const usuario = usuarios.find((u) => u.id === req.params.id);
  if (!usuario) return res.status(404).json({ error: "No existe." });
  res.json(usuario);
});
app.listen(process.env.PORT || 3000);
