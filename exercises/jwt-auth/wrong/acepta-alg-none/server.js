// MAL A PROPÓSITO: el verificador hecho a mano obedece al «alg» de la cabecera del token,
// y con «alg: none» se salta la firma (el ataque clásico a JWT).
const express = require("express");
const crypto = require("node:crypto");

const SECRETO = process.env.JWT_SECRET;
const USUARIOS = [
  { usuario: "ana", password: "secreta123", rol: "estudiante" },
  { usuario: "nico", password: "clave456", rol: "admin" },
];
const ALGORITMOS = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };

const b64 = (texto) => Buffer.from(texto).toString("base64url");

function firmar(datos, alg) {
  return crypto.createHmac(ALGORITMOS[alg], SECRETO).update(datos).digest("base64url");
}

function emitir(carga) {
  const iat = Math.floor(Date.now() / 1000);
  const inicio = `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(
    JSON.stringify({ ...carga, iat, exp: iat + 3600 })
  )}`;
  return `${inicio}.${firmar(inicio, "HS256")}`;
}

function verificar(token) {
  const [cabecera, carga, firma] = token.split(".");
  const { alg } = JSON.parse(Buffer.from(cabecera, "base64url"));
  if (alg !== "none") {
    if (!ALGORITMOS[alg]) throw new Error("algoritmo desconocido");
    if (firma !== firmar(`${cabecera}.${carga}`, alg)) throw new Error("firma inválida");
  }
  const datos = JSON.parse(Buffer.from(carga, "base64url"));
  if (!(datos.exp > Date.now() / 1000)) throw new Error("caducado");
  return datos;
}

const app = express();
app.use(express.json());

app.post("/api/login", (req, res) => {
  const { usuario, password } = req.body ?? {};
  if (typeof usuario !== "string" || typeof password !== "string") {
    return res.status(400).json({ error: "Envía «usuario» y «password»." });
  }
  const u = USUARIOS.find((x) => x.usuario === usuario && x.password === password);
  if (!u) return res.status(401).json({ error: "Usuario o contraseña incorrectos." });
  res.json({ token: emitir({ sub: u.usuario, rol: u.rol }) });
});

function autenticar(req, res, next) {
  const [esquema, token] = (req.get("authorization") ?? "").split(" ");
  if (esquema !== "Bearer" || !token) return res.status(401).json({ error: "Falta el token." });
  try {
    const datos = verificar(token);
    req.usuario = { usuario: datos.sub, rol: datos.rol };
    next();
  } catch {
    res.status(401).json({ error: "Token inválido." });
  }
}

app.get("/api/perfil", autenticar, (req, res) => res.json(req.usuario));

app.get("/api/admin", autenticar, (req, res) => {
  if (req.usuario.rol !== "admin") return res.status(403).json({ error: "Solo admin." });
  res.json({ ok: true });
});

app.listen(process.env.PORT || 3000);
