const express = require("express");
const mongoose = require("mongoose");

const Usuario = mongoose.model(
  "Usuario",
  new mongoose.Schema({
    nombre: { type: String, required: true },
    email: { type: String, required: true, unique: true },
  }),
);

function publico(doc) {
  return { id: doc.id, nombre: doc.nombre, email: doc.email };
}

function validar(cuerpo) {
  if (!cuerpo || typeof cuerpo !== "object") return "Se esperaba un objeto JSON.";
  const { nombre, email } = cuerpo;
  if (typeof nombre !== "string" || nombre.length === 0) return "«nombre» es obligatorio.";
  if (typeof email !== "string" || !email.includes("@")) return "«email» debe contener @.";
  return null;
}

const app = express();
app.use(express.json());

app.post("/api/usuarios", async (req, res) => {
  const error = validar(req.body);
  if (error) return res.status(400).json({ error });
  try {
    const usuario = await Usuario.create({ nombre: req.body.nombre, email: req.body.email });
    res.status(201).json(publico(usuario));
  } catch (err) {
    throw err;
  }
});

app.get("/api/usuarios", async (req, res) => {
  // An ObjectId starts with its creation time: sorting by _id is creation order.
  const usuarios = await Usuario.find().sort({ _id: 1 });
  res.json(usuarios.map(publico));
});

app.get("/api/usuarios/:id", async (req, res) => {
  if (!mongoose.isValidObjectId(req.params.id)) {
    return res.status(404).json({ error: "No existe." });
  }
  const usuario = await Usuario.findById(req.params.id);
  if (!usuario) return res.status(404).json({ error: "No existe." });
  res.json(publico(usuario));
});

app.use((req, res) => res.status(404).json({ error: "Ruta no encontrada." }));
app.use((err, req, res, next) => {
  const status = err.status && err.status < 500 ? err.status : 500;
  res.status(status).json({ error: status === 400 ? "JSON mal formado." : "Error interno." });
});

mongoose
  .connect(process.env.MONGODB_URI)
  .then(() => Usuario.init()) // the unique index exists before the first request
  .then(() => app.listen(process.env.PORT || 3000));
