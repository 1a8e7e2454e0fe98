const express = require("express");

const app = express();

// El logger del curso.
function logger(req, res, next) {
  console.log(`${req.method} ${req.url}`);
  next();
}

// TODO: un middleware que ponga X-Request-Id en todas las respuestas.
// TODO: ¿en qué orden deben ir los middlewares? (ver el enunciado)
app.use(express.json());

app.get("/api/ping", (req, res) => {
  res.json({ pong: true });
});

// TODO: GET /api/privado (exige X-Api-Key = process.env.API_KEY), GET /api/contador,
// GET /api/error, POST /api/eco, el 404 y el middleware de errores.

app.use(logger);

app.listen(process.env.PORT || 3000);
