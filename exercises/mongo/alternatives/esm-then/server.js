// node:http, módulos ES y promesas con .then(); el duplicado se detecta por el mensaje E11000.
import http from "node:http";
import mongoose from "mongoose";

const esquema = new mongoose.Schema({ nombre: String, email: { type: String, unique: true } });
esquema.set("toJSON", { virtuals: true });
const Usuario = mongoose.model("Usuario", esquema, "usuarios");

const json = (res, estado, cuerpo) => {
  res.writeHead(estado, { "Content-Type": "application/json" });
  res.end(JSON.stringify(cuerpo));
};

function alCrear(req, res) {
  let datos = "";
  req.on("data", (t) => (datos += t));
  req.on("end", () => {
    let cuerpo;
    try {
      cuerpo = JSON.parse(datos);
    } catch {
      return json(res, 400, { error: "JSON mal formado" });
    }
    const { nombre, email } = cuerpo ?? {};
    if (typeof nombre !== "string" || !nombre || typeof email !== "string" || !email.includes("@")) {
      return json(res, 400, { error: "nombre y email (con @) son obligatorios" });
    }
    new Usuario({ nombre, email })
      .save()
      .then((u) => json(res, 201, u))
      .catch((err) =>
        /E11000/.test(err.message) ? json(res, 409, { error: "email repetido" }) : json(res, 500, { error: "Error interno" }),
      );
  });
}

const servidor = http.createServer((req, res) => {
    const [, api, recurso, id, ...resto] = new URL(req.url, "http://x").pathname.split("/");
    if (api !== "api" || recurso !== "usuarios" || resto.length) return json(res, 404, { error: "No encontrado" });
    if (!id && req.method === "POST") return alCrear(req, res);
    if (!id && req.method === "GET") {
      return Usuario.find().sort({ _id: 1 }).then((lista) => json(res, 200, lista));
    }
    if (id && req.method === "GET") {
      if (!mongoose.isValidObjectId(id)) return json(res, 404, { error: "No existe" });
      return Usuario.findById(id).then((u) => (u ? json(res, 200, u) : json(res, 404, { error: "No existe" })));
    }
    json(res, 404, { error: "No encontrado" });
  });

mongoose
  .connect(process.env.MONGODB_URI)
  .then(() => Usuario.syncIndexes())
  .then(() => servidor.listen(process.env.PORT ?? 3000));
