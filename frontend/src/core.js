// DOM-free logic of the editor bundle, kept apart so `node --test` can check it
// without a browser. Nothing here may touch `window` or `document`.

export const LANGUAGES = Object.freeze(["javascript", "json", "markdown", "text"]);

const EXTENSIONS = {
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  jsx: "javascript",
  json: "json",
  md: "markdown",
  markdown: "markdown",
};

const ALIASES = {
  js: "javascript",
  javascript: "javascript",
  node: "javascript",
  json: "json",
  md: "markdown",
  markdown: "markdown",
  text: "text",
  plain: "text",
  txt: "text",
};

/**
 * The language mode for one file: the declared `data-language` if it is one we
 * know (aliases such as "js" or "md" are accepted), else a guess from the
 * file's extension, else "text".
 */
export function languageFor(declared, path = "") {
  const key = String(declared ?? "").trim().toLowerCase();
  if (key && Object.hasOwn(ALIASES, key)) return ALIASES[key];
  const base = String(path).split("/").pop() ?? "";
  const dot = base.lastIndexOf(".");
  if (dot > 0) {
    const ext = base.slice(dot + 1).toLowerCase();
    if (Object.hasOwn(EXTENSIONS, ext)) return EXTENSIONS[ext];
  }
  return "text";
}

/** "file:src/app.js" -> "src/app.js"; anything without the prefix is returned as is. */
export function pathFromFieldName(name) {
  const s = String(name ?? "");
  return s.startsWith("file:") ? s.slice(5) : s;
}

/**
 * The path a file is known by: its `data-file`, else its textarea's name
 * without the "file:" prefix. Empty string when neither is there.
 */
export function filePath(dataFile, fieldName) {
  const p = String(dataFile ?? "").trim();
  return p || pathFromFieldName(fieldName).trim();
}

/**
 * Turn [{path, value}] into a plain {path: content} object (insertion order
 * kept). Entries without a path are skipped; a repeated path keeps the first.
 */
export function collectFiles(entries) {
  const out = {};
  for (const entry of entries) {
    if (!entry || !entry.path || Object.hasOwn(out, entry.path)) continue;
    out[entry.path] = String(entry.value ?? "");
  }
  return out;
}

/**
 * WAI-ARIA tabs keyboard model: the index of the tab to move to after `key`
 * on tab `current` of `count`, or -1 when the key is not ours. Wraps around.
 * `orientation` "vertical" uses Up/Down instead of Left/Right.
 */
export function nextTabIndex(current, key, count, orientation = "horizontal") {
  if (count <= 0) return -1;
  const prev = orientation === "vertical" ? "ArrowUp" : "ArrowLeft";
  const next = orientation === "vertical" ? "ArrowDown" : "ArrowRight";
  switch (key) {
    case prev:
      return (current - 1 + count) % count;
    case next:
      return (current + 1) % count;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return -1;
  }
}

/** A string safe to use inside an HTML id, derived from a file path. */
export function idFragment(path) {
  const s = String(path).toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  return s || "file";
}

const MESSAGES = {
  es: {
    tablist: "Archivos",
    editorLabel: (path) => `Editor de código: ${path}`,
    hint:
      "Tab sangra el código. Para salir del editor con el teclado pulsa Escape y después Tab. " +
      "Ctrl+Intro (Cmd+Intro en Mac) envía la solución.",
    modified: "modificado",
  },
  en: {
    tablist: "Files",
    editorLabel: (path) => `Code editor: ${path}`,
    hint:
      "Tab indents the code. To leave the editor with the keyboard press Escape, then Tab. " +
      "Ctrl+Enter (Cmd+Enter on a Mac) submits your solution.",
    modified: "modified",
  },
};

/** UI strings for a BCP 47 language tag; Spanish unless it is English. */
export function messages(lang) {
  return String(lang ?? "").toLowerCase().startsWith("en") ? MESSAGES.en : MESSAGES.es;
}
