// MAL A PROPÓSITO: el token no caduca nunca (falta expiresIn).
const express = require("express");
const jwt = require("jsonwebtoken");

const SECRETO = process.env.JWT_SECRET;
if (!SECRETO) {
  console.error("Falta la variable de entorno JWT_SECRET.");
  process.exit(1);
}

// Los usuarios del enunciado. En una aplicación real estarían en una base de datos y
// las contraseñas guardadas con un hash (bcrypt, scrypt...), nunca en claro.
const USUARIOS = [
  { usuario: "ana", password: "secreta123", rol: "estudiante" },
  { usuario: "nico", password: "clave456", rol: "admin" },
];

const app = express();
app.use(express.json());

app.post("/api/login", (req, res) => {
  const { usuario, password } = req.body ?? {};
  if (typeof usuario !== "string" || typeof password !== "string") {
    return res.status(400).json({ error: "Envía «usuario» y «password»." });
  }
  const encontrado = USUARIOS.find((u) => u.usuario === usuario && u.password === password);
  if (!encontrado) {
    return res.status(401).json({ error: "Usuario o contraseña incorrectos." });
  }
  const token = jwt.sign({ sub: encontrado.usuario, rol: encontrado.rol }, SECRETO, {
    algorithm: "HS256",
  });
  res.json({ token });
});

// Middleware: deja en req.usuario los datos del token, o responde 401.
function autenticar(req, res, next) {
  const cabecera = req.get("authorization") ?? "";
  const [esquema, token, ...resto] = cabecera.split(" ");
  if (esquema !== "Bearer" || !token || resto.length > 0) {
    return res.status(401).json({ error: "Falta la cabecera Authorization: Bearer <token>." });
  }
  try {
    // Fijar los algoritmos impide que el token elija «none» (o cualquier otro).
    const datos = jwt.verify(token, SECRETO, { algorithms: ["HS256"] });
    req.usuario = { usuario: datos.sub, rol: datos.rol };
    next();
  } catch (err) {
    const error = err.name === "TokenExpiredError" ? "El token ha caducado." : "Token inválido.";
    res.status(401).json({ error });
  }
}

// Middleware de autorización: el usuario ya está autenticado; ¿tiene el rol?
function exigirRol(rol) {
  return (req, res, next) => {
    if (req.usuario.rol !== rol) {
      return res.status(403).json({ error: `Hace falta el rol «${rol}».` });
    }
    next();
  };
}

app.get("/api/perfil", autenticar, (req, res) => {
  res.json(req.usuario);
});

app.get("/api/admin", autenticar, exigirRol("admin"), (req, res) => {
  res.json({ ok: true });
});

app.use((req, res) => {
  res.status(404).json({ error: "Ruta no encontrada." });
});

// JSON mal formado (400) y cualquier otro error (500), siempre en JSON.
app.use((err, req, res, next) => {
  const status = err.status && err.status < 500 ? err.status : 500;
  res.status(status).json({ error: status === 400 ? "JSON mal formado." : "Error interno." });
});

app.listen(process.env.PORT || 3000);
