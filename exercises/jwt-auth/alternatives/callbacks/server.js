// Express con las formas de callback de jwt.sign y jwt.verify (sin async/await).
const express = require("express");
const jwt = require("jsonwebtoken");

const usuarios = {
  ana: { password: "secreta123", rol: "estudiante" },
  nico: { password: "clave456", rol: "admin" },
};

const app = express();
app.use(express.json());

app.post("/api/login", function (req, res) {
  const body = req.body || {};
  if (!body.usuario || !body.password) {
    return res.status(400).json({ error: "usuario y password son obligatorios" });
  }
  const u = Object.hasOwn(usuarios, body.usuario) ? usuarios[body.usuario] : null;
  if (!u || u.password !== body.password) {
    return res.status(401).json({ error: "credenciales incorrectas" });
  }
  jwt.sign(
    { rol: u.rol },
    process.env.JWT_SECRET,
    { subject: body.usuario, expiresIn: 60 * 60, algorithm: "HS256" },
    function (err, token) {
      if (err) return res.status(500).json({ error: "no se pudo firmar" });
      res.json({ token: token });
    }
  );
});

function conToken(req, res, next) {
  const h = req.headers.authorization;
  if (!h || !h.startsWith("Bearer ")) {
    return res.status(401).json({ error: "falta el token" });
  }
  jwt.verify(h.slice(7), process.env.JWT_SECRET, { algorithms: ["HS256"] }, function (err, datos) {
    if (err) return res.status(401).json({ error: err.message });
    // El rol se toma de la "base de datos", no del token.
    const u = Object.hasOwn(usuarios, datos.sub) ? usuarios[datos.sub] : null;
    if (!u) return res.status(401).json({ error: "usuario desconocido" });
    req.user = { usuario: datos.sub, rol: u.rol };
    next();
  });
}

app.get("/api/perfil", conToken, function (req, res) {
  res.json(req.user);
});

app.get("/api/admin", conToken, function (req, res) {
  if (req.user.rol !== "admin") return res.status(403).json({ error: "prohibido" });
  res.json({ ok: true });
});

app.listen(3000);
