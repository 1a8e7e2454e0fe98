// Sin Express ni jsonwebtoken: node:http y un HS256 hecho a mano con node:crypto.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const SECRETO = process.env.JWT_SECRET;
const USUARIOS = new Map([
  ["ana", { password: "secreta123", rol: "estudiante" }],
  ["nico", { password: "clave456", rol: "admin" }],
]);

const b64url = (buffer) => Buffer.from(buffer).toString("base64url");
const firmar = (datos) => createHmac("sha256", SECRETO).update(datos).digest();

function emitir(sub, rol) {
  const iat = Math.floor(Date.now() / 1000);
  const cabecera = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const carga = b64url(JSON.stringify({ sub, rol, iat, exp: iat + 3600 }));
  return `${cabecera}.${carga}.${b64url(firmar(`${cabecera}.${carga}`))}`;
}

// Devuelve la carga del token si es válido; si no, lanza un Error con el motivo.
function verificar(token) {
  const partes = token.split(".");
  if (partes.length !== 3) throw new Error("Token mal formado.");
  const [cabecera, carga, firma] = partes;
  const { alg } = JSON.parse(Buffer.from(cabecera, "base64url").toString());
  if (alg !== "HS256") throw new Error("Algoritmo no permitido."); // «none» incluido
  const esperada = firmar(`${cabecera}.${carga}`);
  const recibida = Buffer.from(firma, "base64url");
  if (recibida.length !== esperada.length || !timingSafeEqual(recibida, esperada)) {
    throw new Error("Firma inválida.");
  }
  const datos = JSON.parse(Buffer.from(carga, "base64url").toString());
  if (typeof datos.exp !== "number" || Date.now() / 1000 >= datos.exp) {
    throw new Error("Token caducado.");
  }
  return datos;
}

function responder(res, status, cuerpo) {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(cuerpo));
}

function leerJson(req) {
  return new Promise((resolve) => {
    let texto = "";
    req.setEncoding("utf8");
    req.on("data", (trozo) => (texto += trozo));
    req.on("end", () => {
      try {
        resolve(JSON.parse(texto));
      } catch {
        resolve(null);
      }
    });
  });
}

function autenticar(req) {
  const m = /^Bearer ([^ ]+)$/.exec(req.headers.authorization ?? "");
  if (!m) return null;
  try {
    return verificar(m[1]);
  } catch {
    return null;
  }
}

const server = createServer(async (req, res) => {
  const ruta = new URL(req.url, "http://localhost").pathname;
  if (req.method === "POST" && ruta === "/api/login") {
    const cuerpo = await leerJson(req);
    const { usuario, password } = cuerpo ?? {};
    if (typeof usuario !== "string" || typeof password !== "string") {
      return responder(res, 400, { error: "Faltan usuario y password." });
    }
    const datos = USUARIOS.get(usuario);
    if (!datos || datos.password !== password) {
      return responder(res, 401, { error: "Credenciales incorrectas." });
    }
    return responder(res, 200, { token: emitir(usuario, datos.rol) });
  }
  if (req.method === "GET" && (ruta === "/api/perfil" || ruta === "/api/admin")) {
    const datos = autenticar(req);
    if (!datos) return responder(res, 401, { error: "No autenticado." });
    if (ruta === "/api/perfil") return responder(res, 200, { usuario: datos.sub, rol: datos.rol });
    if (datos.rol !== "admin") return responder(res, 403, { error: "Solo para administradores." });
    return responder(res, 200, { ok: true });
  }
  responder(res, 404, { error: "No encontrado." });
});

server.listen(Number(process.env.PORT ?? 3000));
