// One hundred thousand tiny files.
const fs = require("fs");
let made = 0;
try {
  fs.mkdirSync("/work/flood");
  for (let i = 0; i < 100000; i++) { fs.writeFileSync(`/work/flood/${i}`, "x"); made++; }
} catch (e) {
  console.log(e.code, made);
}
