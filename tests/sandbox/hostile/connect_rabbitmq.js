// The host's rabbitmq listens on 127.0.0.1:5672; the run's network must not reach it.
const net = require("net");
let pending = 0;
for (const host of ["127.0.0.1", "localhost", "::1", "0.0.0.0"]) {
  pending++;
  const s = net.connect({ host, port: 5672, timeout: 1000 });
  s.on("connect", () => { console.log(host, "CONNECTED"); s.destroy(); if (!--pending) process.exit(0); });
  s.on("timeout", () => { console.log(host, "TIMEOUT"); s.destroy(); if (!--pending) process.exit(0); });
  s.on("error", (e) => { console.log(host, e.code); if (!--pending) process.exit(0); });
}
