// The platform's way to run a student's Next.js app: build, then start on PORT.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";

const next = "/node_modules/next/dist/bin/next";
const configs = ["next.config.js", "next.config.mjs", "next.config.ts"];
if (!configs.some((c) => existsSync(c))) {
  // The shared modules live at /node_modules, outside the app: tell Turbopack where the
  // workspace really starts, and keep file tracing inside it.
  writeFileSync("next.config.mjs", 'export default { turbopack: { root: "/" }, outputFileTracingRoot: "/" };\n');
}
const build = spawnSync(process.execPath, [next, "build"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const server = spawn(process.execPath, [next, "start", "-p", process.env.PORT || "3000"], { stdio: "inherit" });
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.kill(sig));
server.on("exit", (code) => process.exit(code ?? 0));
