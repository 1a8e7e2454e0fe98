// Host secrets and private places: none should be there.
const fs = require("fs");
const targets = [
  "/etc/shadow", "/etc/gshadow", "/root", "/root/.ssh", "/home", "/var/lib/postgresql",
  "/etc/ssh", "/run/secrets", "/sys/fs/cgroup", "/sys/kernel", "/boot", "/var/log",
];
for (const t of targets) {
  try {
    const s = fs.statSync(t);
    console.log(t, s.isDirectory() ? "DIR " + fs.readdirSync(t).join(",") : "FILE " + fs.readFileSync(t, "utf8").slice(0, 80));
  } catch (e) {
    console.log(t, e.code);
  }
}
