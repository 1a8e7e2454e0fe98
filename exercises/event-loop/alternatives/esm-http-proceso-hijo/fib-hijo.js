// Proceso hijo: recibe n por IPC, responde fib(n) y termina.
function fib(n) {
  return n <= 2 ? 1 : fib(n - 1) + fib(n - 2);
}
process.once("message", (n) => {
  process.send(fib(n), () => process.exit(0));
});
