// The exercise page's live results (platform/taller/static/taller/js/live.js) in jsdom,
// fed over a stand-in WebSocket the messages of docs/events.examples.json (a student's
// run, requeued once), each first checked against the committed docs/events.schema.json
// (generated from platform/taller/grading/events.py): what the page handles is what the
// server sends.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { JSDOM } from "jsdom";
import Ajv2020 from "ajv/dist/2020.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const script = readFileSync(path.join(root, "platform/taller/static/taller/js/live.js"), "utf8");
const schema = JSON.parse(readFileSync(path.join(root, "docs/events.schema.json"), "utf8"));
const examples = JSON.parse(readFileSync(path.join(root, "docs/events.examples.json"), "utf8"));

function validator() {
  const ajv = new Ajv2020({ allErrors: true });
  // pydantic writes OpenAPI's `discriminator` beside `oneOf`: an annotation here (the
  // `type` constants already tell the branches apart).
  ajv.addKeyword("discriminator");
  return ajv.compile(schema);
}

// What views._live_strings() gives the page, the parts these events show.
const STRINGS = {
  status: {
    queued: "en cola", running: "calificando", passed: "aprobado", failed: "con fallos",
    error: "error", timeout: "tiempo agotado", rejected: "rechazado", "internal-error": "error interno",
  },
  title: "Resultado del envío #%(n)s",
  queue: "Tu envío está en la cola: posición %(n)s.",
  what_failed: "Qué falló",
  test_output_title: "Salida de esta prueba",
  test_output: "Lo que escribió tu programa",
  program_output: "Salida del programa",
  summary_passed: "Todas las pruebas pasaron.",
  summary_failed_one: "Falló %(failed)s de %(total)s pruebas.",
  summary_failed_many: "Fallaron %(failed)s de %(total)s pruebas.",
  checks: { status: "%(method)s %(path)s: se esperaba %(expected)s y llegó %(got)s." },
  request: "Petición",
  response: "Respuesta",
  no_response: "Sin respuesta",
  headers: "Cabeceras (%(n)s)",
  copy_curl: "Copiar como curl",
  phrases: { 404: "Not Found" },
};

const MARKUP = `<!doctype html><html lang="es"><body>
<script type="application/json" id="live-strings">${JSON.stringify(STRINGS)}</script>
<form id="submission-form" method="post" action="/ejercicios/rest-api/enviar/">
  <p class="submit-error" hidden></p><button type="submit">Enviar</button>
</form>
<section id="results" data-submission="41" data-status="queued"
  data-ws-path="/ws/submissions/41/" data-status-url="/envios/41/estado/"></section>
<div data-attempts-wrap hidden><table><tbody data-attempts></tbody></table></div>
<p data-attempts-empty>Todavía no enviaste ninguna solución.</p>
</body></html>`;

function page() {
  const dom = new JSDOM(MARKUP, { url: "http://testserver/ejercicios/rest-api/", runScripts: "outside-only" });
  const { window } = dom;
  const sockets = [];
  window.WebSocket = class {
    constructor(url) {
      this.url = url;
      this.closed = false;
      sockets.push(this);
    }
    close() {
      this.closed = true;
    }
  };
  window.fetch = () => {
    throw new Error("the page polled: it lost the WebSocket");
  };
  window.eval(script);
  return { doc: window.document, sockets };
}

test("the committed schema accepts the documented events, and refuses a malformed one", () => {
  const valid = validator();
  for (const event of examples.events) {
    assert.ok(valid(event), `${event.type}: ${JSON.stringify(valid.errors)}`);
  }
  assert.equal(valid({ type: "test" }), false); // a test event without its test
  assert.equal(valid({ type: "finish", results: {} }), false);
  const hidden = examples.events.find((e) => e.type === "test" && e.test.visibility === "hidden");
  assert.equal(valid({ ...hidden, test: { ...hidden.test, score: "1" } }), false);
});

test("a run followed live: queued, started, requeued, graded again, the verdict", () => {
  const valid = validator();
  const { doc, sockets } = page();
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, "ws://testserver/ws/submissions/41/");
  const panel = doc.getElementById("results");
  const socket = sockets[0];
  const events = examples.events;
  const send = (event) => {
    assert.ok(valid(event), `${event.type}: ${JSON.stringify(valid.errors)}`);
    socket.onmessage({ data: JSON.stringify(event) });
  };
  const text = (selector) => panel.querySelector(selector)?.textContent;

  send(events[0]); // snapshot: queued, second in line
  assert.equal(panel.dataset.status, "queued");
  assert.equal(text(".queue-position"), "Tu envío está en la cola: posición 2.");
  assert.equal(text("h2"), "Resultado del envío #3");
  assert.equal(panel.getAttribute("aria-busy"), "true");

  send(events[1]); // started
  assert.equal(panel.dataset.status, "running");
  assert.equal(panel.querySelector(".queue-position"), null);

  send(events[2]); // collected: three tests, four points
  assert.equal(text(".progress-label"), "0 / 3");
  assert.equal(text(".max"), "/ 4");

  send(events[3]); // test 1 passed
  assert.equal(text(".progress-label"), "1 / 3");
  assert.equal(panel.querySelectorAll(".test-item").length, 1);

  send(events[4]); // requeued: its tests are gone
  assert.equal(panel.dataset.status, "queued");
  assert.equal(panel.querySelectorAll(".test-item").length, 0);
  assert.equal(panel.querySelector(".progress"), null);

  for (const event of events.slice(5, -1)) send(event); // started, collected, three tests
  assert.equal(panel.dataset.status, "running");
  assert.equal(text(".progress-label"), "3 / 3");
  assert.equal(socket.closed, false);

  send(events.at(-1)); // finished
  assert.equal(panel.dataset.status, "failed");
  assert.equal(panel.getAttribute("aria-busy"), "false");
  assert.equal(text(".status"), "con fallos");
  assert.equal(text(".score"), "2 / 4");
  assert.equal(text(".results-output"), "Falló 1 de 3 pruebas.");
  const items = [...panel.querySelectorAll(".test-item")];
  assert.deepEqual(
    items.map((li) => [li.dataset.test, li.className, li.querySelector(".test-name").textContent]),
    [
      ["1", "test-item passed", "GET /api/saludo responde el saludo del ejemplo"],
      ["2", "test-item failed", "POST /api/tareas crea una tarea con 201, Location y completada=false"],
      ["3", "test-item passed", "prueba oculta 3"],
    ],
  );
  const failed = items[1].querySelector("details");
  assert.equal(failed.open, true);
  assert.equal(failed.querySelector(".test-output").textContent, "POST /api/tareas: se esperaba 201 y llegó 404.");
  assert.equal(failed.querySelector(".exchange-response .exchange-line").textContent, "HTTP 404 Not Found");
  assert.match(failed.querySelector(".copy-curl").dataset.curl, /^curl -i http:\/\/127\.0\.0\.1:3000\/api\/tareas /);
  assert.equal(items[2].querySelector("details"), null); // a hidden test: nothing to open
  assert.equal(text(".program-output pre"), "Escuchando en el puerto 3000\n");
  // The verdict is final: the page stops listening, and the attempt's row shows it.
  assert.equal(socket.closed, true);
  const row = doc.querySelector('tr[data-submission="41"]');
  assert.equal(row.children[2].textContent, "con fallos");
  assert.equal(row.children[3].textContent, "2 / 4");
});
