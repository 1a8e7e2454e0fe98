const { randomUUID } = require("node:crypto");
const express = require("express");

const app = express();
let vecesPrivado = 0;

// 1. Identificador de petición: el primero de la cadena, para que TODA respuesta lo
//    lleve (también los 404, los 413 del parser y los 500).
function requestId(req, res, next) {
  const id = req.get("X-Request-Id") || randomUUID();
  req.id = id;
  res.set("X-Request-Id", id);
  next();
}

// 2. Logger: una línea por petición, antes de que ningún controlador responda.
function logger(req, res, next) {
  console.log(`${req.method} ${req.url}`);
  next();
}

// 3. Autenticación por clave: si falla, responde y NO llama a next(), así que el
//    controlador no llega a ejecutarse.
function exigirClave(req, res, next) {
  if (req.get("X-Api-Key") !== process.env.API_KEY) {
    return res.status(401).json({ error: "Falta la cabecera X-Api-Key o no es válida" });
  }
  next();
}

app.use("/api", requestId);
app.use(logger);
// El parser va después del logger: un cuerpo demasiado grande (413) también se registra.
app.use(express.json({ limit: "10kb" }));

app.get("/api/ping", (req, res) => {
  res.json({ pong: true });
});

app.get("/api/privado", exigirClave, (req, res) => {
  vecesPrivado += 1;
  res.json({ mensaje: "Bienvenido a la zona privada" });
});

app.get("/api/contador", (req, res) => {
  res.json({ privado: vecesPrivado });
});

app.get("/api/error", () => {
  throw new Error("Algo salió mal");
});

app.post("/api/eco", (req, res) => {
  res.json(req.body);
});

// Ninguna ruta respondió: 404.
app.use((req, res) => {
  res.status(404).json({ error: "No encontrado" });
});

// Middleware de errores: Express lo reconoce porque tiene CUATRO parámetros.
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  if (err.status === 413 || err.type === "entity.too.large") {
    return res.status(413).json({ error: "El cuerpo supera los 10 kB" });
  }
  if (err.status === 400) {
    return res.status(400).json({ error: "JSON mal formado" });
  }
  console.error(err); // la traza, al registro del servidor; nunca al cliente
  res.status(500).json({ error: "Error interno" });
});

app.listen(process.env.PORT || 3000);
