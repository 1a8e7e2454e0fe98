// Checks the built bundle (run `npm run build` first) in jsdom: the markup is
// enhanced into tabs, and edits reach the textareas, FormData and getFiles().
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { JSDOM, VirtualConsole } from "jsdom";

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.resolve(here, "../../platform/taller/static/taller/dist/editor.js");

const MARKUP = `<!doctype html><html lang="es"><body>
<form id="submission-form" method="post" action="/submit" data-editor-form>
  <input type="hidden" name="csrfmiddlewaretoken" value="tok">
  <div class="editor" data-editor>
    <div class="editor-file" data-file="server.js">
      <label for="file-0">server.js</label>
      <textarea id="file-0" name="file:server.js" data-language="javascript" spellcheck="false">const x = 1;\n</textarea>
    </div>
    <div class="editor-file" data-file="package.json">
      <label for="file-1">package.json</label>
      <textarea id="file-1" name="file:package.json" data-language="json">{"name": "demo"}</textarea>
    </div>
  </div>
  <button type="submit" class="btn btn-primary">Enviar</button>
</form></body></html>`;

async function load() {
  const errors = [];
  const virtualConsole = new VirtualConsole();
  virtualConsole.on("jsdomError", (e) => {
    // jsdom cannot navigate; a real form submission is the browser's business.
    if (!/form submission|navigation/i.test(String(e.message))) errors.push(e);
  });
  const dom = new JSDOM(MARKUP, { runScripts: "outside-only", pretendToBeVisual: true, virtualConsole });
  dom.window.eval(readFileSync(bundle, "utf8"));
  // The bundle waits for DOMContentLoaded, as it would behind <script defer>.
  if (dom.window.document.readyState === "loading") {
    await new Promise((resolve) => dom.window.document.addEventListener("DOMContentLoaded", resolve));
  }
  return { dom, window: dom.window, document: dom.window.document, errors };
}

test("the build wrote one minified bundle", () => {
  assert.ok(existsSync(bundle), `${bundle} missing: run npm run build`);
  const src = readFileSync(bundle, "utf8");
  assert.ok(statSync(bundle).size > 50_000);
  assert.ok(src.split("\n").length < 50, "expected minified output");
  assert.doesNotMatch(src, /\bimport\s*\(|sourceMappingURL/);
  assert.doesNotMatch(src, /https?:\/\/(?!codemirror\.net|github\.com)[a-z0-9.-]+\.[a-z]{2,}\/[\w/.-]*\.(js|css|woff2?)\b/i, "no external assets");
});

test("markup becomes an accessible tab list with hidden, synced textareas", async () => {
  const { document, errors } = await load();
  const tablist = document.querySelector("[data-editor] [role=tablist]");
  assert.ok(tablist);
  assert.equal(tablist.getAttribute("aria-label"), "Archivos");
  const tabs = [...tablist.querySelectorAll("[role=tab]")];
  assert.deepEqual(tabs.map((t) => t.querySelector(".editor-tab-name").textContent), ["server.js", "package.json"]);
  assert.equal(tabs[0].getAttribute("aria-selected"), "true");
  assert.equal(tabs[1].getAttribute("aria-selected"), "false");
  assert.equal(tabs[0].tabIndex, 0);
  assert.equal(tabs[1].tabIndex, -1);
  const panels = [...document.querySelectorAll("[role=tabpanel]")];
  assert.equal(panels.length, 2);
  assert.equal(panels[0].getAttribute("aria-labelledby"), tabs[0].id);
  assert.equal(tabs[1].getAttribute("aria-controls"), panels[1].id);
  assert.equal(panels[1].hidden, true);
  for (const ta of document.querySelectorAll("textarea")) assert.equal(ta.hidden, true);
  // One CodeMirror view per file, in a shadow root, labelled with the file name.
  const contents = [...document.querySelectorAll(".cm-host")].map((h) => h.shadowRoot.querySelector(".cm-content"));
  assert.equal(contents.length, 2);
  assert.equal(contents[0].getAttribute("aria-label"), "Editor de código: server.js");
  assert.equal(contents[0].textContent, "const x = 1;");
  // Arrow keys move between tabs.
  tabs[0].dispatchEvent(new document.defaultView.KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
  assert.equal(tabs[1].getAttribute("aria-selected"), "true");
  assert.equal(document.activeElement, tabs[1]);
  assert.equal(panels[0].hidden, true);
  assert.equal(panels[1].hidden, false);
  assert.deepEqual(errors, []);
});

test("getFiles / setFile keep the textareas and FormData in sync", async () => {
  const { window, document, errors } = await load();
  const api = window.TallerEditor;
  assert.deepEqual({ ...api.getFiles() }, { "server.js": "const x = 1;\n", "package.json": '{"name": "demo"}' });
  assert.equal(api.setFile("server.js", "console.log('hola');\n"), true);
  assert.equal(api.setFile("nope.js", "x"), false);
  assert.equal(document.getElementById("file-0").value, "console.log('hola');\n");
  const shadow = document.querySelector(".cm-host").shadowRoot;
  assert.equal(shadow.querySelector(".cm-content").textContent, "console.log('hola');");
  const data = new window.FormData(document.getElementById("submission-form"));
  assert.equal(data.get("file:server.js"), "console.log('hola');\n");
  assert.equal(data.get("file:package.json"), '{"name": "demo"}');
  assert.equal(api.getFiles()["server.js"], "console.log('hola');\n");
  // The modified marker shows on the tab.
  assert.equal(document.querySelector("[role=tab] .editor-tab-dirty").hidden, false);
  assert.deepEqual(errors, []);
});

test("Ctrl+Enter in the editor submits the form through requestSubmit", async () => {
  const { window, document } = await load();
  const form = document.getElementById("submission-form");
  let submitted = null;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitted = Object.fromEntries(new window.FormData(form));
  });
  window.TallerEditor.setFile("package.json", "{}");
  const content = document.querySelector(".cm-host").shadowRoot.querySelector(".cm-content");
  content.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter", keyCode: 13, ctrlKey: true, bubbles: true, cancelable: true }));
  assert.ok(submitted, "submit event fired");
  assert.equal(submitted["file:package.json"], "{}");
  assert.equal(submitted.csrfmiddlewaretoken, "tok");
});

test("without the editor markup nothing breaks", () => {
  const dom = new JSDOM("<!doctype html><p>hola</p>", { runScripts: "outside-only", pretendToBeVisual: true });
  dom.window.eval(readFileSync(bundle, "utf8"));
  assert.deepEqual({ ...dom.window.TallerEditor.getFiles() }, {});
});
