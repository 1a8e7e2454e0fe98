// Writes into the work dir until the disk says no.
const fs = require("fs");
const chunk = Buffer.alloc(1024 * 1024, 1);
let written = 0;
try {
  const fd = fs.openSync("/work/big.bin", "w");
  for (;;) { fs.writeSync(fd, chunk); written++; }
} catch (e) {
  console.log(e.code, written);
}
