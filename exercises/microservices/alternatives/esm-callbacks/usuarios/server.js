import http from "node:http";

const nombres = { 1: "Ana", 2: "Nico", 3: "Lucía" };

http
  .createServer((req, res) => {
    const m = /^\/usuarios\/(\d+)$/.exec(req.url);
    const nombre = m && nombres[m[1]];
    res.writeHead(nombre ? 200 : 404, { "Content-Type": "application/json" });
    res.end(JSON.stringify(nombre ? { id: Number(m[1]), nombre } : { error: "no existe" }));
  })
  .listen(process.env.PORT);
