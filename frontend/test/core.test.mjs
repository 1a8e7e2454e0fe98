import test from "node:test";
import assert from "node:assert/strict";
import { collectFiles, filePath, idFragment, languageFor, messages, nextTabIndex, pathFromFieldName } from "../src/core.js";

test("languageFor: declared language wins, aliases accepted", () => {
  assert.equal(languageFor("javascript", "notes.md"), "javascript");
  assert.equal(languageFor("JS", ""), "javascript");
  assert.equal(languageFor("json", "x"), "json");
  assert.equal(languageFor("md", ""), "markdown");
  assert.equal(languageFor("text", "server.js"), "text");
});

test("languageFor: unknown or missing declaration falls back to the extension, then text", () => {
  assert.equal(languageFor("", "src/server.mjs"), "javascript");
  assert.equal(languageFor(undefined, "package.json"), "json");
  assert.equal(languageFor("cobol", "README.MD"), "markdown");
  assert.equal(languageFor(null, "Dockerfile"), "text");
  assert.equal(languageFor(null, ".env"), "text");
});

test("file paths come from data-file, else from the field name", () => {
  assert.equal(pathFromFieldName("file:src/app.js"), "src/app.js");
  assert.equal(pathFromFieldName("code"), "code");
  assert.equal(filePath("server.js", "file:other.js"), "server.js");
  assert.equal(filePath("  ", "file:other.js"), "other.js");
  assert.equal(filePath(null, undefined), "");
});

test("collectFiles keeps order, skips pathless entries, first of a repeated path wins", () => {
  const files = collectFiles([
    { path: "server.js", value: "a" },
    { path: "", value: "ignored" },
    null,
    { path: "package.json", value: "{}" },
    { path: "server.js", value: "dup" },
    { path: "empty.txt", value: undefined },
  ]);
  assert.deepEqual(files, { "server.js": "a", "package.json": "{}", "empty.txt": "" });
  assert.deepEqual(Object.keys(files), ["server.js", "package.json", "empty.txt"]);
});

test("nextTabIndex follows the WAI-ARIA tabs keys and wraps", () => {
  assert.equal(nextTabIndex(0, "ArrowRight", 3), 1);
  assert.equal(nextTabIndex(2, "ArrowRight", 3), 0);
  assert.equal(nextTabIndex(0, "ArrowLeft", 3), 2);
  assert.equal(nextTabIndex(1, "Home", 3), 0);
  assert.equal(nextTabIndex(0, "End", 3), 2);
  assert.equal(nextTabIndex(0, "Enter", 3), -1);
  assert.equal(nextTabIndex(0, "ArrowDown", 3), -1);
  assert.equal(nextTabIndex(0, "ArrowDown", 3, "vertical"), 1);
  assert.equal(nextTabIndex(0, "ArrowRight", 0), -1);
});

test("idFragment makes ids out of paths", () => {
  assert.equal(idFragment("src/Server.js"), "src-server-js");
  assert.equal(idFragment("???"), "file");
});

test("messages: Spanish by default, English for en-*", () => {
  assert.equal(messages("").tablist, "Archivos");
  assert.equal(messages("es-ES").editorLabel("a.js"), "Editor de código: a.js");
  assert.equal(messages("en-GB").tablist, "Files");
});
