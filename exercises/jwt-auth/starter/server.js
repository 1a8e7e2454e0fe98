const express = require("express");
const jwt = require("jsonwebtoken");

// El secreto con el que se firman los tokens: cada ejecución recibe uno distinto.
const SECRETO = process.env.JWT_SECRET;

const USUARIOS = [
  { usuario: "ana", password: "secreta123", rol: "estudiante" },
  { usuario: "nico", password: "clave456", rol: "admin" },
];

const app = express();
app.use(express.json());

app.post("/api/login", (req, res) => {
  // TODO: comprueba usuario y contraseña y devuelve {"token": ...} firmado con SECRETO,
  // con sub, rol y una caducidad de una hora.
  res.status(501).json({ error: "Sin implementar." });
});

// TODO: un middleware que lea "Authorization: Bearer <token>" y lo verifique.

app.get("/api/perfil", (req, res) => {
  res.status(501).json({ error: "Sin implementar." });
});

app.get("/api/admin", (req, res) => {
  res.status(501).json({ error: "Sin implementar." });
});

app.listen(process.env.PORT || 3000);
