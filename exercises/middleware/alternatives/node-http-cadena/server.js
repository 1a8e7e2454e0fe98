// Sin Express: una cadena de middleware escrita a mano sobre node:http, con callbacks.
const http = require("node:http");
const crypto = require("node:crypto");

const LIMITE = 10 * 1024;

function crearApp() {
  const capas = [];
  const app = (req, res) => {
    let i = 0;
    function next(err) {
      const capa = capas[i++];
      if (!capa) {
        if (err) return enviar(res, 500, { error: "Error interno" });
        return;
      }
      const { ruta, fn } = capa;
      if (ruta && !ruta(req)) return next(err);
      const esDeErrores = fn.length === 4;
      try {
        if (err && esDeErrores) fn(err, req, res, next);
        else if (!err && !esDeErrores) fn(req, res, next);
        else next(err);
      } catch (e) {
        next(e);
      }
    }
    next();
  };
  app.use = (fn) => capas.push({ fn });
  app.ruta = (metodo, camino, fn) =>
    capas.push({ ruta: (req) => req.method === metodo && req.camino === camino, fn });
  return app;
}

function enviar(res, status, cuerpo) {
  const texto = JSON.stringify(cuerpo);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(texto),
  });
  res.end(texto);
}

const app = crearApp();
let vecesPrivado = 0;

app.use((req, res, next) => {
  req.camino = new URL(req.url, "http://localhost").pathname;
  res.setHeader("X-Request-Id", req.headers["x-request-id"] || crypto.randomBytes(12).toString("hex"));
  next();
});

app.use((req, res, next) => {
  console.log(`${req.method} ${req.url}`);
  next();
});

// Lector de JSON con límite de tamaño.
app.use((req, res, next) => {
  if (req.method !== "POST" && req.method !== "PUT") return next();
  const declarado = Number(req.headers["content-length"] || 0);
  if (declarado > LIMITE) {
    const err = new Error("demasiado grande");
    err.status = 413;
    return next(err);
  }
  const partes = [];
  let total = 0;
  let cortado = false;
  req.on("data", (parte) => {
    total += parte.length;
    if (total > LIMITE && !cortado) {
      cortado = true;
      const err = new Error("demasiado grande");
      err.status = 413;
      next(err);
    }
    if (!cortado) partes.push(parte);
  });
  req.on("end", () => {
    if (cortado) return;
    const texto = Buffer.concat(partes).toString("utf8");
    try {
      req.body = texto ? JSON.parse(texto) : {};
    } catch {
      const err = new Error("JSON mal formado");
      err.status = 400;
      return next(err);
    }
    next();
  });
});

function exigirClave(req, res, next) {
  if (req.headers["x-api-key"] !== process.env.API_KEY) {
    return enviar(res, 401, { error: "X-Api-Key ausente o incorrecta" });
  }
  next();
}

app.ruta("GET", "/api/ping", (req, res) => enviar(res, 200, { pong: true }));

app.ruta("GET", "/api/privado", (req, res, next) =>
  exigirClave(req, res, () => {
    vecesPrivado++;
    enviar(res, 200, { secreto: 42 });
  }),
);

app.ruta("GET", "/api/contador", (req, res) => enviar(res, 200, { privado: vecesPrivado }));

app.ruta("GET", "/api/error", () => {
  throw new Error("fallo a propósito");
});

app.ruta("POST", "/api/eco", (req, res) => enviar(res, 200, req.body));

app.use((req, res) => enviar(res, 404, { error: "No encontrado" }));

app.use((err, req, res, next) => {
  if (err.status === 413) return enviar(res, 413, { error: "Cuerpo demasiado grande" });
  if (err.status === 400) return enviar(res, 400, { error: "JSON mal formado" });
  console.error(err.stack);
  enviar(res, 500, { error: "Error interno" });
});

http.createServer(app).listen(process.env.PORT || 3000);
