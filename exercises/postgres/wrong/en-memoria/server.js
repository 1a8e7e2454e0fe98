// Guarda en un arreglo en lugar de PostgreSQL: funciona... hasta que el servidor se reinicia.
const express = require("express");
const { Pool } = require("pg");

const app = express();
app.use(express.json());
const pool = new Pool();
const usuarios = [];
let siguiente = 1;

app.get("/api/ahora", async (req, res) => {
  const { rows } = await pool.query("SELECT NOW() AS ahora");
  res.json({ ahora: rows[0].ahora.toISOString() });
});

app.post("/api/usuarios", (req, res) => {
  const { nombre, email } = req.body || {};
  if (typeof nombre !== "string" || !nombre || typeof email !== "string" || !email.includes("@")) {
    return res.status(400).json({ error: "Datos inválidos." });
  }
  if (usuarios.some((u) => u.email === email)) return res.status(409).json({ error: "Repetido." });
  const usuario = { id: siguiente++, nombre, email };
  usuarios.push(usuario);
  res.status(201).json(usuario);
});

app.get("/api/usuarios", (req, res) => res.json(usuarios));
app.get("/api/usuarios/:id", (req, res) => {
  const usuario = usuarios.find((u) => String(u.id) === req.params.id);
  if (!usuario) return res.status(404).json({ error: "No existe." });
  res.json(usuario);
});

pool
  .query("CREATE TABLE IF NOT EXISTS usuarios (id serial PRIMARY KEY, nombre text NOT NULL, email text NOT NULL UNIQUE)")
  .then(() => app.listen(process.env.PORT || 3000));
