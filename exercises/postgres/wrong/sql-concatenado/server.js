const express = require("express");
const { Pool } = require("pg");

const app = express();
app.use(express.json());
const pool = new Pool();

function validar(cuerpo) {
  if (!cuerpo || typeof cuerpo !== "object") return "Se esperaba un objeto JSON.";
  const { nombre, email } = cuerpo;
  if (typeof nombre !== "string" || nombre.length === 0) return "«nombre» es obligatorio.";
  if (typeof email !== "string" || !email.includes("@")) return "«email» debe contener @.";
  return null;
}

app.get("/api/ahora", async (req, res) => {
  const { rows } = await pool.query("SELECT NOW() AS ahora");
  res.json({ ahora: rows[0].ahora.toISOString() });
});

app.post("/api/usuarios", async (req, res) => {
  const error = validar(req.body);
  if (error) return res.status(400).json({ error });
  try {
    // Pega los datos dentro del SQL: la inyección SQL de manual.
    const { rows } = await pool.query(
      `INSERT INTO usuarios (nombre, email) VALUES ('${req.body.nombre}', '${req.body.email}') RETURNING id, nombre, email`,
    );
    res.status(201).json(rows[0]);
  } catch (err) {
    if (err.code === "23505") return res.status(409).json({ error: "Ese email ya existe." });
    throw err;
  }
});

app.get("/api/usuarios", async (req, res) => {
  const { rows } = await pool.query("SELECT id, nombre, email FROM usuarios ORDER BY id");
  res.json(rows);
});

app.get("/api/usuarios/:id", async (req, res) => {
  // Not a whole number that fits PostgreSQL's serial: it cannot be an id.
  const id = Number(req.params.id);
  if (!/^\d+$/.test(req.params.id) || id > 2147483647) {
    return res.status(404).json({ error: "No existe." });
  }
  const { rows } = await pool.query("SELECT id, nombre, email FROM usuarios WHERE id = $1", [id]);
  if (rows.length === 0) return res.status(404).json({ error: "No existe." });
  res.json(rows[0]);
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));
app.use((err, req, res, next) => {
  const status = err.status && err.status < 500 ? err.status : 500;
  res.status(status).json({ error: status === 400 ? "JSON mal formado." : "Error interno." });
});

pool
  .query(
    `CREATE TABLE IF NOT EXISTS usuarios (
       id serial PRIMARY KEY,
       nombre text NOT NULL,
       email text NOT NULL UNIQUE
     )`,
  )
  .then(() => app.listen(process.env.PORT || 3000));
