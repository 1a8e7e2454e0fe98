// Fills /tmp, which is a small tmpfs of the run.
const fs = require("fs");
const chunk = Buffer.alloc(1024 * 1024, 1);
let written = 0;
try {
  const fd = fs.openSync("/tmp/big.bin", "w");
  for (;;) { fs.writeSync(fd, chunk); written++; }
} catch (e) {
  console.log(e.code, written);
}
