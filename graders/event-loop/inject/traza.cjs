// Instrumentación del corrector de `event-loop` (se carga con `node --require`).
//
// Por cada línea que el programa escribe en stdout, deja en stderr un registro
//   [taller:traza] {"linea": "...", "origen": "..."}
// que dice desde qué mecanismo se imprimió:
//   "síncrono"          evaluación de un módulo (código de primer nivel, CJS o ESM)
//   "process.nextTick"  un callback de process.nextTick
//   "microtarea"        una reacción de promesa (.then, await) o queueMicrotask
//   "setTimeout"        el callback de un temporizador (con su retardo en "retardo")
//   "setImmediate", "otro"
// El origen sale de async_hooks (el tipo del recurso asíncrono en ejecución) y, para lo
// síncrono, de la pila: la evaluación de un módulo tiene debajo el cargador de módulos.
"use strict";

const asyncHooks = require("node:async_hooks");
const fs = require("node:fs");

const MARCA = "[taller:traza]";
const writeSync = fs.writeSync;
const tipos = new Map();

asyncHooks
  .createHook({
    init(id, tipo) {
      tipos.set(id, tipo);
    },
    destroy(id) {
      tipos.delete(id);
    },
  })
  .enable();

const CARGADOR = /node:internal\/modules\/(cjs\/loader|esm\/module_job|run_main)/;

function evaluandoModulo() {
  const limite = Error.stackTraceLimit;
  const formato = Error.prepareStackTrace; // el alumno puede haberlo cambiado
  Error.stackTraceLimit = 200;
  Error.prepareStackTrace = undefined;
  let pila = "";
  try {
    pila = String(new Error().stack || "");
  } finally {
    Error.stackTraceLimit = limite;
    Error.prepareStackTrace = formato;
  }
  return CARGADOR.test(pila);
}

function origen() {
  if (evaluandoModulo()) return { origen: "síncrono" };
  const id = asyncHooks.executionAsyncId();
  const tipo = tipos.get(id);
  switch (tipo) {
    case "TickObject":
      return { origen: "process.nextTick" };
    case "PROMISE":
    case "Microtask":
      return { origen: "microtarea" };
    case "Timeout": {
      const recurso = asyncHooks.executionAsyncResource();
      const retardo = recurso && typeof recurso._idleTimeout === "number" ? recurso._idleTimeout : null;
      const repite = Boolean(recurso && recurso._repeat);
      return { origen: repite ? "setInterval" : "setTimeout", retardo };
    }
    case "Immediate":
      return { origen: "setImmediate" };
    default:
      return { origen: "otro", tipo: tipo || null };
  }
}

let pendiente = null; // línea empezada y aún sin "\n": { texto, info }

function registrar(texto, info) {
  const registro = JSON.stringify({ linea: texto, ...info });
  writeSync(2, `${MARCA} ${registro}\n`);
}

function observar(chunk) {
  let texto;
  if (typeof chunk === "string") texto = chunk;
  else if (chunk instanceof Uint8Array) texto = Buffer.from(chunk).toString("utf8");
  else return;
  const info = origen();
  const partes = texto.split("\n");
  for (let i = 0; i < partes.length; i++) {
    const ultima = i === partes.length - 1;
    if (pendiente === null) pendiente = { texto: "", info };
    pendiente.texto += partes[i];
    if (!ultima) {
      registrar(pendiente.texto, pendiente.info);
      pendiente = null;
    } else if (pendiente.texto === "") {
      pendiente = null;
    }
  }
}

process.on("exit", () => {
  if (pendiente !== null) registrar(pendiente.texto, pendiente.info);
  pendiente = null;
});

// Lo que escribe el alumno en stderr no puede hacerse pasar por un registro.
function neutralizar(chunk) {
  if (typeof chunk === "string") return chunk.split(MARCA).join("[traza]");
  if (chunk instanceof Uint8Array) {
    const texto = Buffer.from(chunk).toString("utf8");
    return texto.includes(MARCA) ? texto.split(MARCA).join("[traza]") : chunk;
  }
  return chunk;
}

const stdoutWrite = process.stdout.write;
process.stdout.write = function write(chunk, ...resto) {
  try {
    observar(chunk);
  } catch {
    // la instrumentación nunca rompe el programa del alumno
  }
  return stdoutWrite.call(this, chunk, ...resto);
};

const stderrWrite = process.stderr.write;
process.stderr.write = function write(chunk, ...resto) {
  return stderrWrite.call(this, neutralizar(chunk), ...resto);
};

fs.writeSync = function (fd, buffer, ...resto) {
  if (fd === 1) {
    try {
      observar(buffer);
    } catch {
      // idem
    }
  } else if (fd === 2) {
    buffer = neutralizar(buffer);
  }
  return writeSync.call(fs, fd, buffer, ...resto);
};
