import express from "express";

const app = express();

app.get("/", (req, res) => res.json({ pid: process.pid }));

app.get("/lento", async (req, res) => {
  await new Promise((r) => setTimeout(r, 1000));
  res.json({ pid: process.pid });
});

app.get("/caer", (req, res) => {
  res.once("close", () => process.exit(3));
  res.json({ pid: process.pid, adios: true });
});

const server = app.listen(Number(process.env.PORT ?? 3000));

process.on("SIGTERM", () => {
  // close(): no acepta conexiones nuevas y llama al callback cuando terminan las abiertas.
  server.close(() => process.exit(0));
});
