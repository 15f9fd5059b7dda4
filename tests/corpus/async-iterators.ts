// Generators, async generators and async iteration: yield*, return/throw, finally on early exit,
// custom Symbol.asyncIterator, and how two async generators interleave.
export {};

const log = console.log;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

log("-- generators");
function* count(from: number, to: number): Generator<number, string, undefined> {
  for (let i = from; i <= to; i++) yield i;
  return "counted";
}
log([...count(1, 5)]);
const g = count(1, 3);
log(g.next(), g.next(), g.next(), g.next(), g.next());
function* echo(): Generator<string, void, string> {
  let received = "start";
  for (let i = 0; i < 3; i++) received = yield `got ${received}`;
}
const e = echo();
log(e.next("ignored").value, e.next("a").value, e.next("b").value, e.next("c").done);
function* delegating(): Generator<number | string, string, undefined> {
  yield "before";
  const r = yield* count(10, 12);
  yield `delegate returned ${r}`;
  return "outer done";
}
log([...delegating()]);
function* guarded(): Generator<number> {
  try {
    yield 1;
    yield 2;
  } finally {
    log("guarded: finally runs");
  }
}
for (const v of guarded()) {
  log("first value", v);
  break;
}
const gr = guarded();
gr.next();
log("return(9)", gr.return(9));
const gt = guarded();
gt.next();
try {
  gt.throw(new Error("thrown in"));
} catch (err) {
  log("throw() rethrows", (err as Error).message);
}
function* fib(): Generator<number> {
  let [a, b] = [0, 1];
  for (;;) {
    yield a;
    [a, b] = [b, a + b];
  }
}
const first20: number[] = [];
for (const f of fib()) {
  if (first20.length === 20) break;
  first20.push(f);
}
log(first20.join(" "));
const entries = Object.entries({ a: 1, b: 2 })[Symbol.iterator]();
log(entries.next().value, [...entries]);
class Range implements Iterable<number> {
  constructor(private readonly lo: number, private readonly hi: number) {}
  *[Symbol.iterator](): Iterator<number> {
    for (let i = this.lo; i < this.hi; i++) yield i * i;
  }
}
log(Array.from(new Range(0, 6)), Math.max(...new Range(2, 5)));

log("-- async generators");
async function* ticker(name: string, n: number, ms: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i++) {
    await sleep(ms);
    yield `${name}${i}`;
  }
}
const seen: string[] = [];
for await (const t of ticker("t", 4, 1)) seen.push(t);
log(seen.join(","));

async function* numbers(): AsyncGenerator<number, string> {
  try {
    yield 1;
    yield await Promise.resolve(2);
    yield* [3, 4];
    yield* (async function* () { yield 5; yield 6; })();
  } finally {
    log("numbers: finally");
  }
  return "numbers returned";
}
const got: number[] = [];
for await (const n of numbers()) got.push(n);
log(got);
for await (const n of numbers()) {
  log("taking only", n);
  break;
}
const an = numbers();
log(await an.next(), await an.return("early"), await an.next());

log("-- for await over sync iterables of promises");
for await (const v of [Promise.resolve("p1"), "plain", new Promise((r) => setTimeout(() => r("timer"), 2))]) log(v);

log("-- a hand-written async iterator");
const queue = {
  items: ["q1", "q2", "q3"],
  [Symbol.asyncIterator](): AsyncIterator<string> {
    let i = 0;
    const items = this.items;
    return {
      next: async () => (i < items.length ? { value: items[i++]!, done: false } : { value: undefined, done: true }),
      return: async () => { log("iterator return() called"); return { value: undefined, done: true }; },
    };
  },
};
for await (const item of queue) log(item);
for await (const item of queue) {
  log("break after", item);
  break;
}

log("-- interleaving two async generators");
const order: string[] = [];
async function drain(name: string): Promise<void> {
  for await (const v of (async function* () { for (let i = 0; i < 3; i++) { yield `${name}${i}`; } })()) order.push(v);
}
await Promise.all([drain("a"), drain("b")]);
log(order.join(" "));
// The slow ticker's period is far above a timer's lateness on a loaded host (or a nested VM).
const timed: string[] = [];
await Promise.all([
  (async () => { for await (const v of ticker("slow", 2, 150)) timed.push(v); })(),
  (async () => { for await (const v of ticker("fast", 3, 2)) timed.push(v); })(),
]);
log(timed.join(" "));

log("-- errors inside async generators");
async function* broken(): AsyncGenerator<number> {
  yield 1;
  throw new RangeError("generator broke");
}
try {
  for await (const v of broken()) log("broken yielded", v);
} catch (err) {
  log("caught", (err as Error).name, (err as Error).message);
}
const rejecting = broken();
await rejecting.next();
log(await rejecting.throw(new Error("thrown into")).catch((err: Error) => `rejected: ${err.message}`));
log(Object.prototype.toString.call(numbers()), Object.prototype.toString.call(count(0, 0)));
log("-- done");
