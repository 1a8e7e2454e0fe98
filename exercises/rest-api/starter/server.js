const express = require("express");

const app = express();
app.use(express.json());

app.get("/api/saludo", (req, res) => {
  res.json({ mensaje: "Hola desde el backend" });
});

// TODO: las rutas de /api/tareas (ver el enunciado).

app.listen(process.env.PORT || 3000);
