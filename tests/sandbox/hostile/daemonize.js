// A detached grandchild in a new session that would outlive the run and write later.
const { spawn } = require("child_process");
const child = spawn("/usr/bin/sh", ["-c", "sleep 30; echo late > /work/late.txt"], {
  detached: true, stdio: "ignore",
});
child.unref();
console.log("daemon", child.pid);
