// Se ejecuta en otro hilo (worker_threads): puede tardar lo que quiera sin bloquear
// el event loop del servidor.
const { parentPort, workerData } = require("node:worker_threads");

function fib(n) {
  return n <= 2 ? 1 : fib(n - 1) + fib(n - 2);
}

parentPort.postMessage(fib(workerData));
