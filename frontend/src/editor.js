// Taller's code editor: progressive enhancement of the server-rendered
//   <div class="editor" data-editor> <div class="editor-file" data-file="…"> <label> <textarea name="file:…">
// into an accessible tab list with one CodeMirror 6 view per file. Without this
// script the textareas work as they are; with it they are hidden but kept in
// sync on every change, so a plain POST or FormData(form) sends the edited code.
//
// CSP: the site allows only 'self' for styles, and CodeMirror injects its
// styles at run time. Inside a shadow root it does that through a constructed
// stylesheet (adoptedStyleSheets, i.e. CSSOM, which CSP does not block)
// instead of a <style> element (which it would), so each view lives in a
// shadow root attached to a `.cm-host` element. Colours come from CSS custom
// properties set by site.css, which inherit into the shadow root.

import { Compartment, EditorState, Prec } from "@codemirror/state";
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  HighlightStyle,
  bracketMatching,
  foldGutter,
  foldKeymap,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { markdown } from "@codemirror/lang-markdown";
import { tags as t } from "@lezer/highlight";

import { collectFiles, filePath, idFragment, languageFor, messages, nextTabIndex } from "./core.js";

const v = (name, fallback) => `var(--${name}, ${fallback})`;

const highlightStyle = HighlightStyle.define([
  {
    tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword, t.definitionKeyword, t.modifier, t.self],
    color: v("tok-keyword", "#7440cf"),
  },
  { tag: [t.string, t.special(t.string), t.character], color: v("tok-string", "#0a3069") },
  { tag: [t.regexp, t.escape], color: v("tok-regexp", "#116329") },
  { tag: [t.comment, t.lineComment, t.blockComment, t.docComment], color: v("tok-comment", "#57606a"), fontStyle: "italic" },
  { tag: [t.number, t.bool, t.null, t.atom, t.unit], color: v("tok-number", "#0550ae") },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.function(t.definition(t.variableName))], color: v("tok-function", "#6639ba") },
  { tag: [t.definition(t.variableName), t.definition(t.propertyName)], color: v("tok-definition", "#953800") },
  { tag: [t.propertyName], color: v("tok-property", "#0550ae") },
  { tag: [t.typeName, t.className, t.namespace, t.standard(t.variableName)], color: v("tok-type", "#953800") },
  { tag: [t.operator, t.punctuation, t.separator], color: v("tok-operator", "#24292f") },
  { tag: [t.invalid], color: v("tok-error", "#cf222e"), textDecoration: "underline wavy" },
  // Markdown
  { tag: t.heading, fontWeight: "700", color: v("tok-keyword", "#7440cf") },
  { tag: t.strong, fontWeight: "700" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strikethrough, textDecoration: "line-through" },
  { tag: [t.link, t.url], color: v("tok-string", "#0a3069"), textDecoration: "underline" },
  { tag: t.monospace, color: v("tok-definition", "#953800") },
  { tag: [t.meta, t.processingInstruction], color: v("tok-comment", "#57606a") },
]);

const baseTheme = EditorView.theme({
  "&": {
    color: v("code-fg", "#1f2328"),
    backgroundColor: v("code-bg", "#f6f8fa"),
    height: v("editor-height", "28rem"),
    fontSize: v("editor-font-size", "0.875rem"),
  },
  // Focus ring drawn inside the shadow root, above the gutters (an outline on
  // .cm-host would be painted under the positioned .cm-editor).
  "&.cm-focused": { outline: "none" },
  "&.cm-focused::after": {
    content: '""',
    position: "absolute",
    inset: "0",
    border: `3px solid ${v("focus", "#4f46e5")}`,
    pointerEvents: "none",
    zIndex: "500",
  },
  ".cm-scroller": {
    fontFamily: v("font-mono", "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace"),
    lineHeight: "1.55",
    overflow: "auto",
  },
  ".cm-content": { caretColor: v("code-fg", "#1f2328"), padding: "0.5rem 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: v("code-fg", "#1f2328"), borderLeftWidth: "2px" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection":
    { backgroundColor: v("editor-selection", "#b6d4fe") },
  ".cm-activeLine": { backgroundColor: v("editor-active-line", "rgba(0,0,0,0.035)") },
  ".cm-gutters": {
    backgroundColor: v("code-bg", "#f6f8fa"),
    color: v("editor-gutter-fg", "#6e7781"),
    borderRight: `1px solid ${v("border", "#d0d7de")}`,
  },
  ".cm-activeLineGutter": { backgroundColor: v("editor-active-line", "rgba(0,0,0,0.035)"), color: v("code-fg", "#1f2328") },
  ".cm-lineNumbers .cm-gutterElement": { padding: "0 0.75rem 0 0.5rem", minWidth: "2.5rem" },
  "&.cm-focused .cm-matchingBracket": {
    backgroundColor: v("editor-bracket", "rgba(9,105,218,0.18)"),
    outline: `1px solid ${v("editor-bracket-border", "rgba(9,105,218,0.55)")}`,
  },
  "&.cm-focused .cm-nonmatchingBracket": { backgroundColor: v("editor-bracket-bad", "rgba(207,34,46,0.2)") },
  ".cm-selectionMatch": { backgroundColor: v("editor-match", "rgba(255,212,0,0.25)") },
  ".cm-searchMatch": { backgroundColor: v("editor-match", "rgba(255,212,0,0.35)"), outline: `1px solid ${v("border", "#d0d7de")}` },
  ".cm-panels": { backgroundColor: v("surface-2", "#f6f8fa"), color: v("text", "#1f2328") },
  ".cm-panels.cm-panels-bottom": { borderTop: `1px solid ${v("border", "#d0d7de")}` },
  ".cm-panels.cm-panels-top": { borderBottom: `1px solid ${v("border", "#d0d7de")}` },
  ".cm-panel input, .cm-panel button": { font: "inherit", fontSize: "0.875rem" },
  ".cm-textfield": { backgroundColor: v("surface", "#fff"), color: v("text", "#1f2328"), border: `1px solid ${v("border", "#d0d7de")}` },
  ".cm-button": { backgroundImage: "none", backgroundColor: v("surface", "#fff"), color: v("text", "#1f2328"), border: `1px solid ${v("border", "#d0d7de")}` },
  ".cm-foldPlaceholder": { backgroundColor: v("surface-2", "#eaeef2"), border: "none", color: v("muted", "#57606a") },
  ".cm-tooltip": { backgroundColor: v("surface", "#fff"), color: v("text", "#1f2328"), border: `1px solid ${v("border", "#d0d7de")}` },
});

function languageExtension(lang) {
  switch (lang) {
    case "javascript":
      return javascript();
    case "json":
      return json();
    case "markdown":
      return markdown();
    default:
      return [];
  }
}

const darkQuery = typeof window !== "undefined" && window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
const isDark = () => Boolean(darkQuery && darkQuery.matches);

/** Every view we made: path -> {view, textarea, darkness}. */
const files = new Map();
let counter = 0;

function submitForm(form) {
  if (!form) return false;
  for (const f of files.values()) f.textarea.value = f.view.state.doc.toString();
  const submitter = form.querySelector('button[type="submit"], input[type="submit"], button:not([type])');
  if (typeof form.requestSubmit === "function") {
    // requestSubmit runs constraint validation and fires `submit`, like a click.
    if (submitter && !submitter.disabled) form.requestSubmit(submitter);
    else form.requestSubmit();
  } else if (submitter) {
    submitter.click();
  } else {
    form.submit();
  }
  return true;
}

function createView({ panel, textarea, path, lang, form, strings, hintId, onDirty }) {
  const host = document.createElement("div");
  host.className = "cm-host";
  panel.appendChild(host);

  const root = typeof host.attachShadow === "function" ? host.attachShadow({ mode: "open" }) : null;
  const parent = root || host;

  // Description for screen readers, in the same tree as the editor so
  // aria-describedby resolves (ids do not cross shadow boundaries).
  const hint = document.createElement("p");
  hint.id = hintId;
  hint.hidden = true;
  hint.textContent = strings.hint;
  parent.appendChild(hint);

  const darkness = new Compartment();
  const readOnly = textarea.readOnly || textarea.disabled;
  const initial = textarea.value;

  const view = new EditorView({
    root: root || undefined,
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        Prec.highest(
          keymap.of([
            { key: "Mod-Enter", run: () => submitForm(form), preventDefault: true },
            { key: "Ctrl-Enter", run: () => submitForm(form), preventDefault: true },
          ]),
        ),
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        foldGutter(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        indentOnInput(),
        indentUnit.of("  "),
        EditorState.tabSize.of(2),
        syntaxHighlighting(highlightStyle),
        bracketMatching(),
        closeBrackets(),
        rectangularSelection(),
        crosshairCursor(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        // indentWithTab: CodeMirror's own "Escape, then Tab" (or Ctrl-M)
        // moves focus out instead, so keyboard users are never trapped.
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
        languageExtension(lang),
        baseTheme,
        darkness.of(EditorView.darkTheme.of(isDark())),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!textarea.disabled),
        EditorView.contentAttributes.of({
          "aria-label": strings.editorLabel(path),
          "aria-describedby": hintId,
          // A contenteditable is in the tab order already; saying so lets checkers (axe)
          // see that the scroller around it is keyboard-reachable.
          tabindex: "0",
          spellcheck: "false",
          autocapitalize: "off",
          autocorrect: "off",
          translate: "no",
        }),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          textarea.value = update.state.doc.toString();
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
          onDirty(textarea.value !== initial);
        }),
      ],
    }),
  });
  return { view, darkness };
}

function enhance(container) {
  if (container.hasAttribute("data-enhanced")) return;
  const panels = Array.from(container.querySelectorAll(":scope > .editor-file, :scope > [data-file]"));
  const entries = panels
    .map((panel) => {
      const textarea = panel.querySelector("textarea");
      if (!textarea) return null;
      return { panel, textarea, path: filePath(panel.getAttribute("data-file"), textarea.name) };
    })
    .filter((e) => e && e.path);
  if (entries.length === 0) return;

  const strings = messages(document.documentElement.lang);
  const form = container.closest("form");
  const uid = container.id || `editor-${++counter}`;
  container.setAttribute("data-enhanced", "");

  const tablist = document.createElement("div");
  tablist.className = "editor-tabs";
  tablist.setAttribute("role", "tablist");
  tablist.setAttribute("aria-label", strings.tablist);
  container.insertBefore(tablist, container.firstChild);

  const tabs = [];
  const views = [];

  function select(index, focus) {
    tabs.forEach((tab, i) => {
      const on = i === index;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      entries[i].panel.hidden = !on;
    });
    if (focus) tabs[index].focus();
    // A view that was hidden measured nothing; let it lay out again.
    views[index].requestMeasure();
  }

  entries.forEach((entry, i) => {
    const { panel, textarea, path } = entry;
    const frag = `${uid}-${i}-${idFragment(path)}`;
    const tab = document.createElement("button");
    tab.type = "button";
    tab.className = "editor-tab";
    tab.id = `${frag}-tab`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panel.id || (panel.id = `${frag}-panel`));
    const name = document.createElement("span");
    name.className = "editor-tab-name";
    name.textContent = path;
    const dirty = document.createElement("span");
    dirty.className = "editor-tab-dirty";
    dirty.hidden = true;
    const dot = document.createElement("span");
    dot.setAttribute("aria-hidden", "true");
    dot.textContent = "•";
    const dirtyText = document.createElement("span");
    dirtyText.className = "visually-hidden";
    dirtyText.textContent = ` (${strings.modified})`;
    dirty.append(dot, dirtyText);
    tab.append(name, dirty);
    tab.addEventListener("click", () => select(i, false));
    tab.addEventListener("keydown", (event) => {
      const next = nextTabIndex(i, event.key, tabs.length);
      if (next < 0) return;
      event.preventDefault();
      select(next, true);
    });
    tablist.appendChild(tab);
    tabs.push(tab);

    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    panel.classList.add("is-enhanced");
    const label =
      Array.from(panel.querySelectorAll("label")).find((l) => textarea.id && l.htmlFor === textarea.id) ||
      panel.querySelector("label");
    if (label) label.hidden = true;
    textarea.hidden = true;
    textarea.setAttribute("aria-hidden", "true");
    textarea.tabIndex = -1;

    const { view, darkness } = createView({
      panel,
      textarea,
      path,
      lang: languageFor(textarea.getAttribute("data-language") || panel.getAttribute("data-language"), path),
      form,
      strings,
      hintId: `${frag}-hint`,
      onDirty: (isDirty) => {
        dirty.hidden = !isDirty;
        tab.classList.toggle("is-modified", isDirty);
      },
    });
    views.push(view);
    if (!files.has(path)) files.set(path, { view, textarea, darkness });
  });

  // Belt and braces: whatever else happened, submit what the editors show.
  if (form) {
    form.addEventListener("submit", () => {
      for (const f of files.values()) f.textarea.value = f.view.state.doc.toString();
    });
  }

  select(0, false);
}

function getFiles() {
  // Textareas are the source of truth in both modes (kept in sync when enhanced).
  const areas = document.querySelectorAll("[data-editor] textarea");
  return collectFiles(
    Array.from(areas, (textarea) => {
      const panel = textarea.closest("[data-file]");
      const path = filePath(panel && panel.getAttribute("data-file"), textarea.name);
      const f = files.get(path);
      return { path, value: f && f.textarea === textarea ? f.view.state.doc.toString() : textarea.value };
    }),
  );
}

function setFile(path, content) {
  const text = String(content ?? "");
  const f = files.get(path);
  if (f) {
    f.view.dispatch({ changes: { from: 0, to: f.view.state.doc.length, insert: text } });
    f.textarea.value = text; // the update listener does this too; be explicit.
    return true;
  }
  for (const textarea of document.querySelectorAll("[data-editor] textarea")) {
    const panel = textarea.closest("[data-file]");
    if (filePath(panel && panel.getAttribute("data-file"), textarea.name) === path) {
      textarea.value = text;
      return true;
    }
  }
  return false;
}

function init() {
  document.querySelectorAll("[data-editor]").forEach(enhance);
}

if (darkQuery) {
  const onScheme = () => {
    for (const f of files.values()) f.view.dispatch({ effects: f.darkness.reconfigure(EditorView.darkTheme.of(isDark())) });
  };
  if (darkQuery.addEventListener) darkQuery.addEventListener("change", onScheme);
}

window.TallerEditor = Object.freeze({ getFiles, setFile, init });

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init, { once: true });
else init();
