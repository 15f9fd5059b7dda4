// The first program the in-guest runtime runs: microtasks before timers, timers in deadline
// order, numbers formatted as Node formats them.
const order = [];
setTimeout(() => order.push("timeout 20"), 20);
setTimeout(() => order.push("timeout 0"), 0);
Promise.resolve().then(() => order.push("microtask"));
queueMicrotask?.(() => order.push("queueMicrotask"));
order.push("sync");
await new Promise((resolve) => setTimeout(resolve, 30));
console.log(order.join(", "));
console.log(JSON.stringify({ a: [1, 2.5, -0, 1e21, 0.1 + 0.2] }), (1.005).toFixed(2), (123.456).toPrecision(4), Math.pow(2, 0.5));
console.log(new Date(0).toISOString(), [..."héllo"].length, /(?<y>\d{4})/.exec("in 2026").groups.y, String(2n ** 64n));
