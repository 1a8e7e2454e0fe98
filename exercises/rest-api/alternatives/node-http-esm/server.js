// Sin Express: node:http, módulos ES y callbacks.
import http from "node:http";

const tareas = [];
let ultimoId = 0;

function enviar(res, estado, cuerpo, cabeceras = {}) {
  if (cuerpo === undefined) {
    res.writeHead(estado, cabeceras);
    return res.end();
  }
  res.writeHead(estado, { "Content-Type": "application/json; charset=utf-8", ...cabeceras });
  res.end(JSON.stringify(cuerpo));
}

function leerJson(req, listo) {
  let datos = "";
  req.setEncoding("utf8");
  req.on("data", (trozo) => (datos += trozo));
  req.on("end", () => {
    try {
      listo(null, datos ? JSON.parse(datos) : undefined);
    } catch (error) {
      listo(error);
    }
  });
}

function invalida(cuerpo, exigirCompletada) {
  if (!cuerpo || typeof cuerpo !== "object" || Array.isArray(cuerpo)) return "Se esperaba un objeto JSON";
  if (typeof cuerpo.titulo !== "string") return "titulo debe ser un texto";
  const largo = cuerpo.titulo.trim().length;
  if (largo < 1 || largo > 200) return "titulo debe tener entre 1 y 200 caracteres";
  if (cuerpo.completada === undefined ? exigirCompletada : typeof cuerpo.completada !== "boolean") {
    return "completada debe ser true o false";
  }
  return null;
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    const partes = url.pathname.split("/").filter(Boolean);

    if (req.method === "GET" && url.pathname === "/api/saludo") {
      return enviar(res, 200, { mensaje: "Hola desde el backend" });
    }
    if (partes[0] !== "api" || partes[1] !== "tareas" || partes.length > 3) {
      return enviar(res, 404, { error: "No existe esa ruta" });
    }
    if (partes.length === 2) {
      if (req.method === "GET") {
        const filtro = url.searchParams.get("completada");
        const lista =
          filtro === "true" || filtro === "false"
            ? tareas.filter((t) => t.completada === (filtro === "true"))
            : tareas;
        return enviar(res, 200, lista);
      }
      if (req.method === "POST") {
        return leerJson(req, (error, cuerpo) => {
          const problema = error ? "JSON mal formado" : invalida(cuerpo, false);
          if (problema) return enviar(res, 400, { error: problema });
          const tarea = { id: ++ultimoId, titulo: cuerpo.titulo.trim(), completada: cuerpo.completada ?? false };
          tareas.push(tarea);
          enviar(res, 201, tarea, { Location: `/api/tareas/${tarea.id}` });
        });
      }
      return enviar(res, 404, { error: "No existe esa ruta" });
    }

    const indice = tareas.findIndex((t) => String(t.id) === partes[2]);
    if (req.method === "GET") {
      return indice < 0 ? enviar(res, 404, { error: "No existe esa tarea" }) : enviar(res, 200, tareas[indice]);
    }
    if (req.method === "DELETE") {
      if (indice < 0) return enviar(res, 404, { error: "No existe esa tarea" });
      tareas.splice(indice, 1);
      return enviar(res, 204);
    }
    if (req.method === "PUT") {
      return leerJson(req, (error, cuerpo) => {
        if (indice < 0) return enviar(res, 404, { error: "No existe esa tarea" });
        const problema = error ? "JSON mal formado" : invalida(cuerpo, true);
        if (problema) return enviar(res, 400, { error: problema });
        Object.assign(tareas[indice], { titulo: cuerpo.titulo.trim(), completada: cuerpo.completada });
        enviar(res, 200, tareas[indice]);
      });
    }
    enviar(res, 404, { error: "No existe esa ruta" });
  })
  .listen(process.env.PORT || 3000);
