// V8 heap: objects until --max-old-space-size (or the cgroup) stops it.
const keep = [];
for (;;) keep.push({ a: Math.random(), b: "x".repeat(64) + keep.length });
