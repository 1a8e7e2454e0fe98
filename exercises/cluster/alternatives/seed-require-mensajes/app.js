// node:http y callbacks. El primario avisa con un mensaje cuando hay que apagar.
var http = require("http");

function json(res, status, datos) {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(datos));
}

var server = http.createServer(function (req, res) {
  if (req.url === "/") return json(res, 200, { pid: process.pid });
  if (req.url === "/lento") {
    return setTimeout(function () {
      json(res, 200, { pid: process.pid, tardo: 1000 });
    }, 1000);
  }
  if (req.url === "/caer") {
    json(res, 200, { pid: process.pid });
    return setTimeout(function () {
      process.exit(1);
    }, 100);
  }
  json(res, 404, { error: "No encontrado" });
});

server.listen(process.env.PORT);

process.on("message", function (mensaje) {
  if (mensaje && mensaje.tipo === "apagar") {
    server.close(function () {
      process.exit(0);
    });
  }
});
