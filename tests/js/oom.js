// Allocates past the workload's memory limit (the test boots it with a small one): the heap grows
// through mem_map until the limit refuses, and the engine's out-of-memory error ends the program.
const held = [];
console.log("allocating");
for (let i = 0; i < 100000; i++) {
  held.push(new Uint8Array(1 << 20).fill(i & 0xff));
  if (i === 3) console.log("4 MiB held");
}
console.log("never: allocated", held.length, "MiB");
