// One gigabyte to stdout (and some to stderr), as fast as the pipe takes it.
const fs = require("fs");
const chunk = Buffer.alloc(1024 * 1024, 97);
for (let i = 0; i < 1024; i++) fs.writeSync(1, chunk);
for (let i = 0; i < 16; i++) fs.writeSync(2, chunk);
console.error("\ndone");
