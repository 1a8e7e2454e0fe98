// Off-heap memory (Buffers), touched so that it is really resident.
const keep = [];
for (;;) {
  const b = Buffer.alloc(16 * 1024 * 1024, 1);
  keep.push(b);
}
