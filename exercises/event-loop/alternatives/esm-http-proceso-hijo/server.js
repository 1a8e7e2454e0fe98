import http from "node:http";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const hijo = fileURLToPath(new URL("./fib-hijo.js", import.meta.url));

function json(res, status, cuerpo) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(cuerpo));
}

function fibEnHijo(n, callback) {
  const proceso = fork(hijo);
  proceso.once("message", (resultado) => callback(null, resultado));
  proceso.once("error", (err) => callback(err));
  proceso.send(n);
}

const servidor = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (req.method === "GET" && url.pathname === "/rapido") return json(res, 200, { ok: true });
  if (req.method === "GET" && url.pathname === "/lento") {
    setTimeout(() => json(res, 200, { ok: true }), 1000);
    return;
  }
  if (req.method === "GET" && url.pathname === "/fib") {
    const texto = url.searchParams.get("n");
    const n = texto === null ? NaN : Number(texto);
    if (!Number.isInteger(n) || n < 1 || n > 40) {
      return json(res, 400, { error: "n tiene que ser un entero de 1 a 40" });
    }
    fibEnHijo(n, (err, resultado) => {
      if (err) return json(res, 500, { error: "Error interno" });
      json(res, 200, { n, resultado });
    });
    return;
  }
  json(res, 404, { error: "No encontrado" });
});

servidor.listen(Number(process.env.PORT) || 3000);
