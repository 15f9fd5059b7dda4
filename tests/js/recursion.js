// Unbounded recursion is a RangeError inside JavaScript (the engine's stack limit, 1 MiB of the
// workload's 2 MiB stack), never a fault of the workload.
function down(n) {
  return down(n + 1) + 1;
}
try {
  down(0);
} catch (e) {
  console.log(e instanceof RangeError, e.message.includes("stack"));
}
