// Worker threads until the pids limit (threads count) stops them.
const { Worker } = require("worker_threads");
let made = 0;
for (;;) {
  try { new Worker("setInterval(()=>{},1000)", { eval: true }); made++; } catch (e) { console.log(e.code, made); break; }
  if (made > 2000) break;
}
setInterval(() => {}, 1000);
