// The regrade progress page's poller (platform/taller/static/taller/js/regrade.js) in
// jsdom: it fetches the batch status, rewrites the counts, the live label and the new
// scores, and stops polling once every regrade is final.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { JSDOM } from "jsdom";

const here = path.dirname(fileURLToPath(import.meta.url));
const js = (name) =>
  readFileSync(path.resolve(here, "../../platform/taller/static/taller/js", name), "utf8");
// As the page loads them: the shared poller, then the page's own script.
const script = js("poll.js") + "\n" + js("regrade.js");

const MARKUP = `<!doctype html><html lang="es"><body>
<section id="regrade-progress" data-status-url="/estado/"
  data-done-text="{done} de {total} recalificados" data-finished-text="Terminado." aria-busy="true">
  <progress id="regrade-bar" max="2" value="0"></progress>
  <span id="regrade-done" aria-live="polite">0 de 2 recalificados</span>
  <ul id="regrade-counts"></ul>
</section>
<table><tbody id="regrade-rows">
  <tr data-regrade="7"><th>Ana</th><td class="old-score">5 / 26</td><td class="new-score">— / —</td>
    <td class="regrade-status"><span class="status status-queued">en cola</span></td></tr>
  <tr data-regrade="8"><th>Beto</th><td class="old-score">2 / 26</td><td class="new-score">— / —</td>
    <td class="regrade-status"><span class="status status-queued">en cola</span></td></tr>
</tbody></table></body></html>`;

function row(id, status, label, score, max) {
  return { regrade_id: id, status, status_label: label, new_score: score, new_max: max };
}

test("the progress page follows the batch until it is finished", async () => {
  const dom = new JSDOM(MARKUP, { runScripts: "outside-only" });
  const { window } = dom;
  const timers = [];
  window.setTimeout = (fn) => timers.push(fn);
  const answers = [
    {
      total: 2, done: 1, finished: false,
      counts: [{ status: "queued", label: "en cola", n: 1 }, { status: "passed", label: "aprobado", n: 1 }],
      rows: [row(7, "passed", "aprobado", 30, 30), row(8, "queued", "en cola", null, null)],
    },
    {
      total: 2, done: 2, finished: true,
      counts: [{ status: "passed", label: "aprobado", n: 1 }, { status: "failed", label: "con fallos", n: 1 }],
      rows: [row(7, "passed", "aprobado", 30, 30), row(8, "failed", "con fallos", 7.5, 30)],
    },
  ];
  const asked = [];
  window.fetch = (url) => {
    asked.push(url);
    const body = answers.shift();
    return Promise.resolve({ ok: true, json: () => Promise.resolve(body) });
  };
  window.eval(script);
  const doc = window.document;
  const tick = async () => {
    timers.shift()();
    await new Promise((resolve) => setImmediate(resolve));
  };

  await tick();
  assert.equal(doc.getElementById("regrade-done").textContent, "1 de 2 recalificados");
  assert.equal(doc.querySelector('tr[data-regrade="7"] .new-score').textContent, "30 / 30");
  assert.equal(doc.querySelector('tr[data-regrade="7"] .old-score').textContent, "5 / 26");
  assert.equal(doc.getElementById("regrade-bar").value, 1);
  assert.equal(timers.length, 1); // not finished: polls again

  await tick();
  assert.equal(doc.getElementById("regrade-done").textContent, "2 de 2 recalificados Terminado.");
  const beto = doc.querySelector('tr[data-regrade="8"]');
  assert.equal(beto.querySelector(".new-score").textContent, "7,5 / 30");
  assert.equal(beto.querySelector(".status").className, "status status-failed");
  assert.deepEqual(
    [...doc.querySelectorAll("#regrade-counts li")].map((li) => li.textContent),
    ["aprobado 1", "con fallos 1"],
  );
  assert.equal(doc.getElementById("regrade-progress").getAttribute("aria-busy"), "false");
  assert.equal(timers.length, 0); // finished: no more polling
  assert.deepEqual(asked, ["/estado/", "/estado/"]);
});
