const express = require("express");

const app = express();
app.use(express.json());

const tareas = new Map(); // id -> tarea; a Map keeps insertion (creation) order
let siguienteId = 1;

function validar(body, { parcial }) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return "El cuerpo debe ser un objeto JSON.";
  }
  const { titulo, completada } = body;
  if (typeof titulo !== "string") return "«titulo» es obligatorio y debe ser un texto.";
  const limpio = titulo.trim();
  if (limpio.length === 0 || limpio.length > 200) {
    return "«titulo» debe tener entre 1 y 200 caracteres.";
  }
  if (completada === undefined && !parcial) return "«completada» es obligatorio.";
  if (completada !== undefined && typeof completada !== "boolean") {
    return "«completada» debe ser true o false.";
  }
  return null;
}

app.get("/api/saludo", (req, res) => {
  res.json({ mensaje: "Hola desde el backend" });
});

app.get("/api/tareas", (req, res) => {
  let lista = [...tareas.values()];
  const { completada } = req.query;
  if (completada === "true" || completada === "false") {
    lista = lista.filter((t) => t.completada === (completada === "true"));
  }
  res.json(lista);
});

app.post("/api/tareas", (req, res) => {
  const error = validar(req.body, { parcial: true });
  if (error) return res.status(400).json({ error });
  const tarea = {
    id: siguienteId++,
    titulo: req.body.titulo.trim(),
    completada: req.body.completada ?? false,
  };
  tareas.set(tarea.id, tarea);
  res.status(201).location(`/api/tareas/${tarea.id}`).json(tarea);
});

app.get("/api/tareas/:id", (req, res) => {
  const tarea = tareas.get(Number(req.params.id));
  if (!tarea) return res.status(404).json({ error: "Tarea no encontrada." });
  res.json(tarea);
});

app.put("/api/tareas/:id", (req, res) => {
  const tarea = tareas.get(Number(req.params.id));
  if (!tarea) return res.status(404).json({ error: "Tarea no encontrada." });
  const error = validar(req.body, { parcial: false });
  if (error) return res.status(400).json({ error });
  tarea.titulo = req.body.titulo.trim();
  tarea.completada = req.body.completada;
  res.json(tarea);
});

app.delete("/api/tareas/:id", (req, res) => {
  const id = Number(req.params.id);
  if (!tareas.delete(id)) return res.status(404).json({ error: "Tarea no encontrada." });
  res.status(204).end();
});

// Express 5 hands malformed JSON here with status 400.
app.use((err, req, res, next) => {
  const status = err.status && err.status < 500 ? err.status : 500;
  res.status(status).json({ error: status === 400 ? "JSON mal formado." : "Error interno." });
});

app.listen(process.env.PORT || 3000);
