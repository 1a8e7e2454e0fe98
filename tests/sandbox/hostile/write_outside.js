// Every place outside /work and /tmp is read-only or absent.
const fs = require("fs");
for (const t of ["/usr/x", "/etc/passwd", "/etc/x", "/node_modules/x", "/node_modules/express/index.js",
                 "/x", "/bin/x", "/proc/sys/kernel/hostname", "/dev/x", "/proc/1/root/x",
                 // The run's own memory cgroup is shown (Node sizes its heap from it), read-only.
                 "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max",
                 "/sys/fs/cgroup/memory/cgroup.procs"]) {
  try { fs.writeFileSync(t, "pwned"); console.log("WROTE", t); } catch (e) { console.log(t, e.code); }
}
