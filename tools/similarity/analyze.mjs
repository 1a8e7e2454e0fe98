// Code similarity of a cohort's submissions with Dolos, as its own process.
//
// Reads one JSON request on stdin, writes one JSON answer on stdout, and progress as
// JSON lines on stderr ({"progress": {"stage", "done", "total"}}). The request and
// answer shapes are documented in docs/similarity.md and validated on the Python side
// (platform/taller/similarity/engine.py); this script only trusts its own arithmetic.
//
// A submission is several files; Dolos compares files. Each submission's source files
// are joined (sorted by path) into one text, and every matched region is mapped back to
// the file and lines it came from. Template code (the exercise's starter and reference
// solution) is one joined "ignored" file: fingerprints it contains never count.

import { readFileSync } from "node:fs";
import { FingerprintIndex, File, LanguagePicker, Options } from "@dodona/dolos-lib";

// The package exports no ./package.json: read it from where npm put it.
const VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/@dodona/dolos-lib/package.json", import.meta.url), "utf8"),
).version;
const SOURCE = /\.(m?js|cjs|jsx|ts|tsx)$/i;

function progress(stage, done, total) {
  process.stderr.write(JSON.stringify({ progress: { stage, done, total } }) + "\n");
}

// One text per submission, and where each of its files starts (0-based rows).
function join(files) {
  const parts = [];
  const layout = [];
  let row = 0;
  for (const path of Object.keys(files).sort()) {
    if (!SOURCE.test(path)) continue;
    let text = String(files[path]);
    if (!text.endsWith("\n")) text += "\n";
    const lines = text.split("\n").length - 1;
    layout.push({ path, start: row, lines });
    parts.push(text);
    row += lines;
  }
  return { text: parts.join(""), layout };
}

// A region of the joined text (rows 0-based, inclusive) as per-file line spans (1-based).
function spans(layout, startRow, endRow) {
  const out = [];
  for (const f of layout) {
    const last = f.start + f.lines - 1;
    const from = Math.max(startRow, f.start);
    const to = Math.min(endRow, last);
    if (from <= to) out.push({ path: f.path, start: from - f.start + 1, end: to - f.start + 1 });
  }
  return out;
}

// The rows a fragment covers on one side: those of its tokens, from the first kgram's
// first token to the last one's last. Closing parentheses are left out: Dolos places
// each at the start of the node it closes (the program's own at 0:0), which would
// stretch a fragment up to a function's first line or to the top of the file.
function rows(file, pairs, side) {
  let first = Infinity;
  let last = -Infinity;
  for (const p of pairs) {
    first = Math.min(first, p[side].start);
    last = Math.max(last, p[side].stop);
  }
  let low = Infinity;
  let high = -Infinity;
  for (let i = first; i <= last; i++) {
    if (file.tokens[i] === ")") continue;
    const region = file.mapping[i];
    low = Math.min(low, region.startRow);
    high = Math.max(high, region.endRow);
  }
  return low <= high ? [low, high] : [0, -1];
}

function lineCount(list) {
  return list.reduce((n, s) => n + s.end - s.start + 1, 0);
}

async function main() {
  const request = JSON.parse(readFileSync(0, "utf8"));
  const options = new Options({
    language: request.language || "javascript",
    ...(request.kgramLength ? { kgramLength: request.kgramLength } : {}),
    ...(request.kgramsInWindow ? { kgramsInWindow: request.kgramsInWindow } : {}),
  });
  const floor = Number(request.floor ?? 0);
  const skipWithin = new Set(request.skipPairsWithin || []);
  const language = await new LanguagePicker().findLanguage(options.language);
  const tokenizer = await language.createTokenizer({ includeComments: false });
  const index = new FingerprintIndex(options.kgramLength, options.kgramsInWindow, false);

  const subs = request.submissions.map((s) => ({ ...s, ...join(s.files) }));
  const tokenized = [];
  const byFile = new Map();
  subs.forEach((s, i) => {
    const file = tokenizer.tokenizeFile(new File(`${s.key}.js`, s.text));
    tokenized.push(file);
    byFile.set(file, s);
    progress("tokenize", i + 1, subs.length);
  });
  index.addFiles(tokenized);
  const template = join(request.ignore || {});
  if (template.text.trim()) index.addIgnoredFile(tokenizer.tokenizeFile(new File("template.js", template.text)));

  const all = [];
  for (let i = 0; i < tokenized.length; i++) {
    for (let j = i + 1; j < tokenized.length; j++) {
      const a = byFile.get(tokenized[i]);
      const b = byFile.get(tokenized[j]);
      if (a.group && a.group === b.group && skipWithin.has(a.group)) continue;
      all.push([i, j]);
    }
  }
  const pairs = [];
  all.forEach(([i, j], n) => {
    const pair = index.getPair(tokenized[i], tokenized[j]);
    // Dolos 3.5.1 subtracts the left file's ignored fingerprints twice (Pair's
    // rightIgnored reads leftEntry): the score is computed here with both sides'.
    const denominator =
      pair.leftTotal + pair.rightTotal - pair.leftEntry.ignored.size - pair.rightEntry.ignored.size;
    const similarity = denominator > 0 ? (pair.leftCovered + pair.rightCovered) / denominator : 0;
    if (similarity >= floor && similarity > 0) {
      const left = byFile.get(pair.leftFile);
      const right = byFile.get(pair.rightFile);
      const fragments = pair
        .buildFragments()
        .map((f) => {
          const l = spans(left.layout, ...rows(pair.leftFile, f.pairs, "left"));
          const r = spans(right.layout, ...rows(pair.rightFile, f.pairs, "right"));
          return { kgrams: f.pairs.length, left: l, right: r };
        })
        // The biggest first: fragment 1 is the longest shared stretch.
        .sort((a, b) => b.kgrams - a.kgrams || (a.left[0]?.start ?? 0) - (b.left[0]?.start ?? 0));
      const longestLines = fragments.reduce(
        (m, f) => Math.max(m, Math.min(lineCount(f.left), lineCount(f.right))),
        0,
      );
      pairs.push({
        left: left.key,
        right: right.key,
        similarity: Math.min(1, similarity),
        longest: pair.longest,
        longestLines,
        overlap: pair.overlap,
        leftCovered: pair.leftCovered,
        rightCovered: pair.rightCovered,
        leftTotal: pair.leftTotal,
        rightTotal: pair.rightTotal,
        fragments,
      });
    }
    if ((n + 1) % 50 === 0 || n + 1 === all.length) progress("compare", n + 1, all.length);
  });
  pairs.sort((p, q) => q.similarity - p.similarity || q.longest - p.longest);
  process.stdout.write(
    JSON.stringify({
      engine: { name: "dolos", version: VERSION },
      options: {
        language: options.language,
        kgramLength: options.kgramLength,
        kgramsInWindow: options.kgramsInWindow,
      },
      submissions: index.entries().map((e) => ({
        key: byFile.get(e.file).key,
        kgrams: e.kgrams.length,
        ignored: e.ignored.size,
      })),
      pairs,
    }),
  );
}

main().catch((error) => {
  process.stderr.write(JSON.stringify({ error: String(error && error.message ? error.message : error) }) + "\n");
  process.exit(1);
});
