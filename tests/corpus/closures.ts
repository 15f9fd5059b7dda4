// Closures: captured variables shared and updated, let vs var in loops, counters and factories,
// currying and composition, memoization, `this` in arrows and functions, closures kept alive by
// timers and promises, and a few thousand closures at once.
export {};

const log = console.log;

log("-- loops: a binding per iteration for let, one for var");
const withLet: (() => number)[] = [];
for (let i = 0; i < 5; i++) withLet.push(() => i);
const withVar: (() => number)[] = [];
// eslint-disable-next-line no-var
for (var j = 0; j < 5; j++) withVar.push(() => j);
log(withLet.map((f) => f()).join(","), withVar.map((f) => f()).join(","));
const updated: (() => number)[] = [];
for (let k = 0; k < 3; k++) {
  updated.push(() => k);
  k += 0;
}
log(updated.map((f) => f()).join(","));
const forIn: (() => string)[] = [];
for (const key in { a: 1, b: 2, c: 3 }) forIn.push(() => key);
log(forIn.map((f) => f()).join(""));

log("-- counters, factories and shared state");
function counter(start = 0) {
  let n = start;
  return { inc: () => ++n, dec: () => --n, get: () => n, reset() { n = start; } };
}
const c1 = counter();
const c2 = counter(100);
c1.inc(); c1.inc(); c2.dec(); c1.inc();
log(c1.get(), c2.get());
c1.reset();
log(c1.get(), c2.inc());
function shared() {
  let value = "initial";
  return [() => value, (v: string) => { value = v; }] as const;
}
const [getV, setV] = shared();
setV("changed");
log(getV());
let captured = "before";
const reader = () => captured;
captured = "after";
log(reader());

log("-- currying, composition, partial application");
const curry = (f: (a: number, b: number, c: number) => number) => (a: number) => (b: number) => (c: number) => f(a, b, c);
const volume = curry((a, b, c) => a * b * c);
log(volume(2)(3)(4), [1, 2, 3].map(volume(1)(10)).join(" "));
const compose = <T>(...fns: ((x: T) => T)[]) => (x: T) => fns.reduceRight((acc, f) => f(acc), x);
const inc = (x: number) => x + 1;
const dbl = (x: number) => x * 2;
log(compose(inc, dbl)(5), compose(dbl, inc)(5), compose<number>()(7));
const partial = <A extends unknown[], B extends unknown[], R>(f: (...args: [...A, ...B]) => R, ...a: A) => (...b: B) => f(...a, ...b);
const greet = (greeting: string, punct: string, name: string) => `${greeting}, ${name}${punct}`;
log(partial(greet, "Hello", "!")("closure"));

log("-- memoization");
function memoize<A, R>(f: (a: A) => R) {
  const cache = new Map<A, R>();
  let misses = 0;
  const g = (a: A): R => {
    if (!cache.has(a)) { misses++; cache.set(a, f(a)); }
    return cache.get(a)!;
  };
  return { g, misses: () => misses };
}
const fib = memoize((n: number): number => (n < 2 ? n : fib.g(n - 1) + fib.g(n - 2)));
log(fib.g(90), fib.misses(), fib.g(50), fib.misses());

log("-- this: arrows capture it, functions get it from the call");
const obj = {
  name: "obj",
  regular() { return this?.name; },
  arrowInside() { return [1].map(() => this.name)[0]; },
  nested() { return [1].map(function (this: unknown) { return typeof this; })[0]; },
};
const detached = obj.regular;
log(obj.regular(), obj.arrowInside(), obj.nested(), (() => { try { return detached(); } catch (e) { return (e as Error).name; } })());
const bound = obj.regular.bind({ name: "bound" });
log(bound(), bound.call({ name: "call" }), obj.regular.call({ name: "call" }), obj.regular.apply({ name: "apply" }), bound.name, bound.length);
class Button {
  clicks = 0;
  label: string;
  constructor(label: string) { this.label = label; }
  onClick = () => { this.clicks++; return `${this.label}:${this.clicks}`; };
  method() { return this === undefined ? "undefined this" : `${this.label} method`; }
}
const btn = new Button("ok");
const handler = btn.onClick;
handler(); handler();
const m = btn.method;
log(btn.clicks, handler(), (() => { try { return m(); } catch (e) { return (e as Error).name; } })());

log("-- closures kept alive by timers and promises");
const timerResults: string[] = [];
await new Promise<void>((done) => {
  for (let i = 0; i < 5; i++) {
    const label = `t${i}`;
    setTimeout(() => {
      timerResults.push(`${label}@${i}`);
      if (timerResults.length === 5) done();
    }, 2);
  }
});
log(timerResults.join(" "));
function delayedAdder(base: number) {
  return (x: number) => new Promise<number>((r) => setTimeout(() => r(base + x), 1));
}
const add10 = delayedAdder(10);
log(await add10(1), await Promise.all([1, 2, 3].map(add10)));
let pending = 0;
const tasks = Array.from({ length: 10 }, (_, i) => async () => { pending++; await null; const seen = pending; pending--; return `${i}:${seen}`; });
log((await Promise.all(tasks.map((t) => t()))).join(" "));

log("-- many closures");
const many = Array.from({ length: 5000 }, (_, i) => {
  let state = i;
  return () => (state = (state * 31 + 7) % 1000003);
});
let total = 0;
for (let round = 0; round < 3; round++) for (const f of many) total = (total + f()) % 1000000007;
log(total);
const chain = Array.from({ length: 1000 }, (_, i) => (x: number) => x + i).reduce((f, g) => (x: number) => g(f(x)), (x: number) => x);
log(chain(0));
function makeAccumulators() {
  const fns: Record<string, (n: number) => number> = {};
  let sum = 0;
  for (const op of ["add", "sub", "mul"]) fns[op] = (n) => (sum = op === "add" ? sum + n : op === "sub" ? sum - n : sum * n);
  return fns;
}
const acc = makeAccumulators();
log(acc.add!(5), acc.mul!(3), acc.sub!(1), acc.add!(0));
(function iife(this: unknown, ...args: number[]) {
  log("IIFE", typeof this, args.length, arguments.length);
})(1, 2, 3);
const once = <T>(f: () => T) => { let done = false; let r: T; return () => (done ? r! : ((done = true), (r = f()))); };
let calls = 0;
const init = once(() => ++calls);
log(init(), init(), init(), calls);
log("-- done");
