const express = require("express");

const app = express();
const usuarios = new Map([
  [1, "Ana"],
  [2, "Nico"],
  [3, "Lucía"],
]);

app.get("/usuarios/:id", (req, res) => {
  const id = Number(req.params.id);
  if (!usuarios.has(id)) return res.status(404).json({ error: "Usuario no encontrado." });
  res.json({ id, nombre: usuarios.get(id) });
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));

app.listen(process.env.PORT || 3001);
