// Bundles src/editor.js into ../platform/taller/static/taller/dist/editor.js
// (one minified ES2020 IIFE; no CSS file: CodeMirror's styles are injected into
// each editor's shadow root and the rest lives in css/site.css).
// Usage: node build.mjs [--watch] [--dev]
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
export const outfile = path.resolve(here, "../platform/taller/static/taller/dist/editor.js");
const watch = process.argv.includes("--watch");
const dev = process.argv.includes("--dev") || watch;

const options = {
  entryPoints: [path.join(here, "src/editor.js")],
  outfile,
  bundle: true,
  format: "iife",
  target: "es2020",
  platform: "browser",
  minify: !dev,
  sourcemap: dev ? "linked" : false,
  legalComments: "eof",
  charset: "utf8",
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
