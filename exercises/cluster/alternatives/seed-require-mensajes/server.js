// Como el ejemplo del curso: el primario arranca los workers y cada worker carga la app.
var cluster = require("cluster");
var os = require("os");

if (cluster.isPrimary) {
  var n = process.env.WORKERS ? Number(process.env.WORKERS) : os.cpus().length;
  var apagando = false;
  for (var i = 0; i < n; i++) cluster.fork();

  cluster.on("exit", function (worker, code, signal) {
    if (!apagando) cluster.fork();
  });

  process.on("SIGTERM", function () {
    apagando = true;
    Object.keys(cluster.workers).forEach(function (id) {
      cluster.workers[id].send({ tipo: "apagar" });
    });
  });
} else {
  require("./app.js");
}
