// Promise combinators and resolution: all, allSettled, any, race, thenables, and the number of
// ticks the specification gives each step (observed through an interleaved counter).
export {};

const log = console.log;

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}
function fail(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms));
}
function describe(r: PromiseSettledResult<unknown>): string {
  return r.status === "fulfilled" ? `fulfilled:${String(r.value)}` : `rejected:${(r.reason as Error).message}`;
}

log("-- all");
log(await Promise.all([1, Promise.resolve(2), delay(5, 3), delay(1, 4)]));
log(await Promise.all([]));
try {
  await Promise.all([delay(50, "slow"), fail(2, "all: first failure"), fail(30, "all: second failure")]);
} catch (e) {
  log("all rejected with", (e as Error).message);
}
const iterable = new Set([delay(2, "from a set"), "plain"]);
log(await Promise.all(iterable));

log("-- allSettled");
const settled = await Promise.allSettled([delay(3, "ok"), fail(1, "no"), 7, Promise.reject(new RangeError("range"))]);
for (const r of settled) log(describe(r));
log(settled.map((r) => r.status));

log("-- any");
log(await Promise.any([fail(1, "x"), delay(5, "second wins"), delay(40, "third")]));
try {
  await Promise.any([fail(30, "one"), fail(1, "two"), Promise.reject(new TypeError("three"))]);
} catch (e) {
  const agg = e as AggregateError;
  log(agg instanceof AggregateError, agg.name, agg.errors.map((x: Error) => `${x.name}:${x.message}`).join(","));
}
try {
  await Promise.any([]);
} catch (e) {
  log("any([]) rejects with", (e as AggregateError).name, (e as AggregateError).errors.length);
}

log("-- race");
log(await Promise.race([delay(60, "slow"), delay(2, "fast"), delay(30, "middle")]));
log(await Promise.race([delay(3, "timer"), "immediate value"]));
try {
  await Promise.race([delay(40, "late"), fail(1, "race: early failure")]);
} catch (e) {
  log("race rejected with", (e as Error).message);
}
const never = Promise.race([]);
let raced = "pending";
never.then(() => { raced = "settled"; });
await delay(2, null);
log("race([]) stays", raced);

log("-- thenables and resolution");
const thenable = { then(resolve: (v: string) => void) { log("thenable.then called"); resolve("from a thenable"); } };
log(await Promise.resolve(thenable));
const p1 = Promise.resolve(1);
log("Promise.resolve(p) === p:", Promise.resolve(p1) === p1);
log("new Promise resolved with p !== p:", new Promise((r) => r(p1)) !== p1);
const lateThenable = {
  then(resolve: (v: number) => void, reject: (e: unknown) => void) {
    resolve(1);
    reject(new Error("ignored"));
    resolve(2);
  },
};
log(await lateThenable);
try {
  await ({ then() { throw new Error("then threw"); } } as unknown as Promise<never>);
} catch (e) {
  log("caught", (e as Error).message);
}

log("-- tick counts");
{
  const out: string[] = [];
  let tick = 0;
  const counter = async () => { for (let i = 0; i < 8; i++) { out.push(`t${tick++}`); await null; } };
  const c = counter();
  Promise.resolve().then(() => out.push("resolve().then"));
  new Promise<void>((r) => r(Promise.resolve() as unknown as void)).then(() => out.push("resolved with a promise"));
  Promise.resolve(thenableNoLog()).then(() => out.push("resolved with a thenable"));
  (async () => { await Promise.resolve(); out.push("await a promise"); })();
  (async () => { await thenableNoLog(); out.push("await a thenable"); })();
  (async () => 1)().then(() => out.push("async return value"));
  (async () => Promise.resolve(1))().then(() => out.push("async return promise"));
  await c;
  log(out.join(" "));
}
function thenableNoLog() {
  return { then(r: (v: number) => void) { r(0); } };
}

log("-- then/catch/finally");
const chain = await Promise.reject(new Error("start"))
  .catch((e: Error) => `caught ${e.message}`)
  .finally(() => "finally's value is ignored")
  .then((v) => `${v}, then`);
log(chain);
try {
  await Promise.resolve("x").finally(() => { throw new SyntaxError("from finally"); });
} catch (e) {
  log("finally threw", (e as Error).name, (e as Error).message);
}
log(await Promise.resolve(5).then(undefined, undefined));
log(await Promise.reject(new Error("passes through")).then((v) => v).catch((e: Error) => e.message));
const values: number[] = [];
await [1, 2, 3].reduce((p, n) => p.then(() => delay(3 - n, n)).then((v) => { values.push(v); }), Promise.resolve());
log("sequential reduce", values);
log("-- done");
