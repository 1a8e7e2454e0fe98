const express = require("express");
const mongoose = require("mongoose");

const Usuario = mongoose.model("Usuario", { nombre: String });

const app = express();
app.use(express.json());

// TODO: el email (único), las rutas /api/usuarios y sus errores (ver el enunciado).

mongoose.connect(process.env.MONGODB_URI).then(() => {
  app.listen(process.env.PORT || 3000);
});
