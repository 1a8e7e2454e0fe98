// Sin Express: node:http, módulos ES y el estilo de callbacks de pg.
import http from "node:http";
import pg from "pg";

const pool = new pg.Pool();

function responder(res, estado, cuerpo) {
  res.writeHead(estado, { "Content-Type": "application/json" });
  res.end(JSON.stringify(cuerpo));
}

function leerCuerpo(req, listo) {
  let datos = "";
  req.on("data", (trozo) => (datos += trozo));
  req.on("end", () => {
    try {
      listo(null, JSON.parse(datos || "null"));
    } catch (error) {
      listo(error);
    }
  });
}

function crear(req, res) {
  leerCuerpo(req, (error, cuerpo) => {
    if (error) return responder(res, 400, { error: "JSON mal formado" });
    const { nombre, email } = cuerpo || {};
    if (typeof nombre !== "string" || !nombre || typeof email !== "string" || !email.includes("@")) {
      return responder(res, 400, { error: "nombre y email (con @) son obligatorios" });
    }
    pool.query(
      "INSERT INTO usuarios (nombre, email) VALUES ($1, $2) RETURNING *",
      [nombre, email],
      (err, resultado) => {
        if (err && err.code === "23505") return responder(res, 409, { error: "email repetido" });
        if (err) return responder(res, 500, { error: "Error interno" });
        responder(res, 201, resultado.rows[0]);
      },
    );
  });
}

const servidor = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, "http://x");
  const partes = pathname.split("/").filter(Boolean);
  if (req.method === "GET" && pathname === "/api/ahora") {
    return pool.query("SELECT NOW() AS ahora", (err, r) =>
      err ? responder(res, 500, { error: "Error interno" }) : responder(res, 200, { ahora: r.rows[0].ahora.toISOString() }),
    );
  }
  if (partes[0] === "api" && partes[1] === "usuarios" && partes.length === 2) {
    if (req.method === "POST") return crear(req, res);
    if (req.method === "GET") {
      return pool.query("SELECT * FROM usuarios ORDER BY id", (err, r) =>
        err ? responder(res, 500, { error: "Error interno" }) : responder(res, 200, r.rows),
      );
    }
  }
  if (req.method === "GET" && partes[0] === "api" && partes[1] === "usuarios" && partes.length === 3) {
    const id = partes[2];
    if (!/^[0-9]{1,9}$/.test(id)) return responder(res, 404, { error: "No existe" });
    return pool.query("SELECT * FROM usuarios WHERE id = $1", [Number(id)], (err, r) => {
      if (err) return responder(res, 500, { error: "Error interno" });
      if (r.rows.length === 0) return responder(res, 404, { error: "No existe" });
      responder(res, 200, r.rows[0]);
    });
  }
  responder(res, 404, { error: "Ruta no encontrada" });
});

pool.query(
  "CREATE TABLE IF NOT EXISTS usuarios (id serial PRIMARY KEY, nombre text NOT NULL, email text NOT NULL UNIQUE)",
  (err) => {
    if (err) throw err;
    servidor.listen(process.env.PORT || 3000);
  },
);
