// Instrumentación del corrector de `middleware` (se carga con `node --require`).
//
// Cuenta los bytes que el servidor escribe en stdout y pone en cada respuesta la cabecera
// X-Taller-Stdout-Bytes con la cuenta del momento en que la respuesta sale: así el
// corrector sabe qué había escrito el logger ANTES de que se enviara la respuesta.
// writeHead (que Node llama también por su cuenta antes del primer write/end) añade la
// cabecera; justo antes de enviarla por el socket (_send), se actualiza la cuenta.
"use strict";

const fs = require("node:fs");
const http = require("node:http");

const CABECERA = "X-Taller-Stdout-Bytes";
let bytes = 0;

function medir(chunk, encoding) {
  if (typeof chunk === "string") {
    return Buffer.byteLength(chunk, typeof encoding === "string" ? encoding : "utf8");
  }
  return chunk && typeof chunk.byteLength === "number" ? chunk.byteLength : 0;
}

const stdoutWrite = process.stdout.write;
process.stdout.write = function write(chunk, encoding, ...resto) {
  try {
    bytes += medir(chunk, encoding);
  } catch {
    // la instrumentación nunca rompe el programa del alumno
  }
  return stdoutWrite.call(this, chunk, encoding, ...resto);
};

const writeSync = fs.writeSync;
fs.writeSync = function (fd, ...resto) {
  const escritos = writeSync.call(fs, fd, ...resto);
  if (fd === 1 && typeof escritos === "number") bytes += escritos;
  return escritos;
};

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (...args) {
  if (!this.headersSent) {
    try {
      this.setHeader(CABECERA, String(bytes));
    } catch {
      // idem
    }
  }
  return writeHead.apply(this, args);
};

const ESCRITA = new RegExp(`\r\n${CABECERA}: \\d+\r\n`, "i");
const send = http.OutgoingMessage.prototype._send;
if (typeof send === "function") {
  http.OutgoingMessage.prototype._send = function (...args) {
    if (this instanceof http.ServerResponse && !this._headerSent && typeof this._header === "string") {
      this._header = this._header.replace(ESCRITA, `\r\n${CABECERA}: ${bytes}\r\n`);
    }
    return send.apply(this, args);
  };
}
