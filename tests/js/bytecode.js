// Run from bytecode compiled on the host (tests/boot/bytecode.test.ts): what the compiler keeps
// must behave as the parsed source does under Node. Prints strings only.
class Counter {
  #n = 0;
  static made = 0;
  constructor() { Counter.made++; }
  tick() { return ++this.#n; }
  get value() { return this.#n; }
  static has(o) { return #n in o; }
}
const c = new Counter();
c.tick(); c.tick();
console.log("class", String(c.value), String(Counter.made), String(Counter.has(c)), String(Counter.has({})));

function* gen(n) { for (let i = 0; i < n; i++) yield i * i; }
console.log("generator", [...gen(5)].join(","));

async function* ticks() { for (let i = 0; i < 3; i++) { await null; yield i; } }
const seen = [];
for await (const t of ticks()) seen.push(t);
console.log("async iterator", seen.join(","));

const { groups } = /(?<year>\d{4})-(?<month>\d{2})/u.exec("on 2026-12-02");
console.log("regexp", groups.year, groups.month);
console.log("json", JSON.stringify({ a: [1, 2.5, "é"], b: null, n: -0, big: 1e21 }));
console.log("numbers", (0.1 + 0.2).toFixed(20), (123.456).toPrecision(4), (1e-7).toString(), String(2 ** 53 + 2));
console.log("bigint", String(2n ** 100n));
console.log("template", `${1 + 1}${"x".repeat(3)}`, String.raw`a\nb`);
const tagged = ((s, ...v) => s.raw.join("|") + v.join("|"))`p${1}q${2}r`;
console.log("tagged", tagged);
const label = (x) => x ?? "none";
console.log("nullish", label(undefined), label(0), String(({ a: { b: 1 } })?.a?.b));
function named(a, b = 2) { return a + b; }
console.log("source", named.toString());
console.log("arrow", ((x) => x * 2).toString());
console.log("length", String(named.length), named.name);
const order = [];
setTimeout(() => order.push("timeout"), 0);
Promise.resolve().then(() => order.push("microtask"));
await Promise.resolve().then(() => order.push("then"));
await new Promise((r) => setTimeout(r, 5));
console.log("order", order.join(","));
// rejected after allSettled holds it: no moment of an unhandled rejection
const settled = await Promise.allSettled([Promise.resolve(1), new Promise((_, reject) => setTimeout(() => reject(new RangeError("no")), 1))]);
console.log("settled", settled.map((s) => s.status + ":" + (s.value ?? s.reason.name)).join(","));
try { null.x; } catch (e) { console.log("caught", e.name); }
export const done = "done";
console.log(done);
