import { randomUUID } from "node:crypto";

export function idDePeticion(req, res, next) {
  res.setHeader("X-Request-Id", req.headers["x-request-id"] ?? randomUUID());
  next();
}

export function registrar(req, res, next) {
  process.stdout.write(`${new Date().toISOString()} ${req.method} ${req.originalUrl}\n`);
  next();
}

export function soloConClave(clave) {
  return (req, res, next) =>
    req.get("x-api-key") === clave()
      ? next()
      : res.status(401).json({ error: "No autorizado" });
}

export function manejarErrores(err, req, res, _next) {
  const status = err.status ?? err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return res.status(status).json({ error: err.message });
  }
  console.error(err);
  res.status(500).json({ error: "Error interno" });
}
