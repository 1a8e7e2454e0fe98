// Módulos ES, un Router para /api y los middlewares en su propio módulo.
import express from "express";
import { registrar, idDePeticion, soloConClave, manejarErrores } from "./middlewares.js";

const app = express();
const api = express.Router();
const contador = { privado: 0 };

api.get("/ping", (req, res) => res.json({ pong: true }));
api.get("/privado", soloConClave(() => process.env.API_KEY), (req, res) => {
  contador.privado++;
  res.json({ hola: "zona privada" });
});
api.get("/contador", (req, res) => res.json(contador));
api.get("/error", (req, res, next) => {
  next(new Error("error de prueba")); // estilo callback: el error viaja por next(err)
});
api.post("/eco", (req, res) => res.json(req.body));

app.use(idDePeticion, registrar, express.json({ limit: 10240 }));
app.use("/api", api);
app.use((req, res) => res.status(404).json({ error: "No encontrado" }));
app.use(manejarErrores);

app.listen(process.env.PORT ?? 3000, () => {
  process.stdout.write("servidor listo\n");
});
