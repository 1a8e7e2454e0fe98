const express = require("express");
const { Pool } = require("pg");

const app = express();
app.use(express.json());
const pool = new Pool(); // lee PGHOST, PGUSER, PGPASSWORD, PGDATABASE...

app.get("/api/ahora", async (req, res) => {
  const resultado = await pool.query("SELECT NOW() AS ahora");
  res.json({ ahora: resultado.rows[0].ahora });
});

// TODO: crear la tabla usuarios al arrancar y las rutas /api/usuarios.

app.listen(process.env.PORT || 3000);
