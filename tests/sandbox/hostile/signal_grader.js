// Tries to signal the grader (its host pid comes in GRADER_PID) and everything else.
const target = Number(process.env.GRADER_PID);
for (const pid of [target, 1, -1]) {
  try { process.kill(pid, "SIGKILL"); console.log(pid, "SENT"); } catch (e) { console.log(pid, e.code); }
}
console.log("alive");
