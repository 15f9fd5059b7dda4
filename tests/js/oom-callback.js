// Allocates past the memory limit inside a timer callback: the out-of-memory error must end the
// program with status 1 and the error printed, as at the top level (tests/js/oom.js).
const held = [];
setTimeout(() => {
  console.log("allocating in a callback");
  for (let i = 0; i < 100000; i++) held.push(new Uint8Array(1 << 20).fill(i & 0xff));
  console.log("never: allocated", held.length, "MiB");
}, 1);
