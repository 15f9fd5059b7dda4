// Errors: which built-in error each mistake raises (by name: the message texts and stack formats
// are each engine's own), custom error classes, cause, AggregateError, finally, throwing
// non-errors, async errors, and console.error/console.warn lines.
export {};

const log = console.log;

log("-- built-in errors by name");
const cases: [string, () => unknown][] = [
  ["property of undefined", () => (undefined as unknown as { x: number }).x],
  ["call a non-function", () => (1 as unknown as () => void)()],
  ["undeclared variable", () => (globalThis as unknown as { eval: (s: string) => unknown }).eval("notDeclaredAnywhere")],
  ["assign to const", () => { const c = 1; (eval as (s: string) => unknown)("c = 2"); return c; }],
  ["JSON.parse", () => JSON.parse("{bad")],
  ["new Array(-1)", () => new Array(-1)],
  ["toFixed(200)", () => (1).toFixed(200)],
  ["decodeURIComponent('%')", () => decodeURIComponent("%")],
  ["BigInt + number", () => (1n as unknown as number) + 1],
  ["new on an arrow", () => new (((() => 0) as unknown) as new () => object)()],
  ["in on a primitive", () => "x" in ("str" as unknown as object)],
  ["instanceof a non-callable", () => ({}) instanceof ({} as unknown as typeof Object)],
  ["Symbol to string", () => `${Symbol("s") as unknown as string}`],
  ["frozen write (strict)", () => { "use strict"; const o = Object.freeze({ a: 1 }); (o as { a: number }).a = 2; }],
  ["define on non-extensible", () => Object.defineProperty(Object.preventExtensions({}), "x", { value: 1 })],
  ["redefine non-configurable", () => { const o = {}; Object.defineProperty(o, "x", { value: 1 }); Object.defineProperty(o, "x", { value: 2 }); }],
  ["null prototype toString", () => String(Object.create(null))],
  ["stack overflow", () => { const f = (n: number): number => f(n + 1) + 1; return f(0); }],
  ["invalid regexp", () => new RegExp("[")],
  ["spread a non-iterable", () => [...(5 as unknown as number[])]],
  ["destructure null", () => { const { a } = null as unknown as { a: number }; return a; }],
  ["super-long string", () => "x".repeat(2 ** 30).repeat(2 ** 30)],
  ["Reflect.ownKeys(1)", () => Reflect.ownKeys(1 as unknown as object)],
  ["array length", () => { const a: number[] = []; a.length = -1; }],
  ["class without new", () => (class K {} as unknown as () => void)()],
  ["generator re-entry", () => { const self: { g?: Generator } = {}; self.g = (function* () { self.g!.next(); yield 1; })(); self.g.next(); }],
];
for (const [label, f] of cases) {
  try {
    const r = f();
    log(label.padEnd(26), "no error:", typeof r);
  } catch (e) {
    const err = e as Error;
    log(label.padEnd(26), err.name, err instanceof Error, Object.getPrototypeOf(err).constructor.name, typeof err.message, typeof err.stack);
  }
}

log("-- custom errors");
class AppError extends Error {
  constructor(message: string, readonly code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AppError";
  }
}
class NotFound extends AppError {
  constructor(what: string) {
    super(`${what} not found`, "E_NOT_FOUND");
    this.name = "NotFound";
  }
}
const nf = new NotFound("user 7");
log(nf.name, nf.message, nf.code, String(nf), nf instanceof NotFound, nf instanceof AppError, nf instanceof Error, Object.prototype.toString.call(nf));
log(Object.keys(nf), JSON.stringify(nf), nf.toString === Error.prototype.toString, typeof nf.stack);
const wrapped = new AppError("could not load", "E_LOAD", { cause: nf });
log(wrapped.cause === nf, (wrapped.cause as Error).message, Object.hasOwn(wrapped, "cause"), Object.hasOwn(new Error("x"), "cause"), new Error("x", { cause: undefined }).cause, Object.hasOwn(new Error("x", { cause: undefined }), "cause"));
log(new Error("plain").toString(), new TypeError().toString(), String(new RangeError("r")), new Error("").toString(), new Error(undefined).message === "", String(new Error(42 as unknown as string)));
const renamed = new Error("msg");
renamed.name = "";
log(String(renamed), Error.prototype.toString.call({ name: "N", message: "M" }), Error.prototype.toString.call({}), Error.prototype.name, Error.prototype.message === "");
const agg = new AggregateError([new Error("a"), new TypeError("b"), "c"], "several");
log(agg.name, agg.message, agg.errors.length, agg.errors.map((e: unknown) => (e instanceof Error ? e.name : String(e))).join(","), agg instanceof Error);
log(Error.length, TypeError.prototype instanceof Error, Object.getPrototypeOf(TypeError) === Error);

log("-- try, catch, finally");
function order(kind: "return" | "throw" | "finally-return"): string[] {
  const out: string[] = [];
  const f = (): string => {
    try {
      out.push("try");
      if (kind === "throw") throw new Error("thrown");
      return "from try";
    } catch (e) {
      out.push(`catch ${(e as Error).message}`);
      return "from catch";
    } finally {
      out.push("finally");
      // eslint-disable-next-line no-unsafe-finally
      if (kind === "finally-return") return "from finally"; // overrides the try's return
    }
  };
  out.push(f());
  return out;
}
log(order("return").join(" > "), "|", order("throw").join(" > "), "|", order("finally-return").join(" > "));
for (const thrown of [42, "a string", null, undefined, { code: 1 }, [1, 2], Symbol.for("sym"), 10n]) {
  try {
    throw thrown;
  } catch (e) {
    log("caught", typeof e, e === thrown, e instanceof Error);
  }
}
try {
  try {
    throw new Error("inner");
  } finally {
    log("inner finally");
  }
} catch (e) {
  log("outer caught", (e as Error).message);
}
const labelled: string[] = [];
outer: for (let i = 0; i < 3; i++) {
  for (let j = 0; j < 3; j++) {
    try {
      if (j === 1) continue outer;
      if (i === 2) break outer;
      labelled.push(`${i}${j}`);
    } finally {
      labelled.push("f");
    }
  }
}
log(labelled.join(" "));
try {
  JSON.parse("{");
} catch {
  log("catch without a binding");
}

log("-- async errors");
async function rejects(): Promise<never> {
  await null;
  throw new URIError("async failure");
}
try {
  await rejects();
} catch (e) {
  log("awaited rejection:", (e as Error).name, (e as Error).message);
}
log(await rejects().catch((e: Error) => `caught via catch(): ${e.name}`));
const results = await Promise.allSettled([rejects(), Promise.reject(new EvalError("eval")), Promise.resolve("fine")]);
log(results.map((r) => (r.status === "rejected" ? (r.reason as Error).name : r.value)).join(" "));
let handledLater = 0;
const late = Promise.reject(new Error("handled after a tick"));
await null;
late.catch(() => handledLater++);
await null;
log("late handler ran", handledLater);
try {
  await new Promise((_, reject) => setTimeout(() => reject(new SyntaxError("from a timer")), 1));
} catch (e) {
  log("timer rejection:", (e as Error).name, (e as Error).message);
}
const errorInThen = await Promise.resolve(1).then(() => { throw new RangeError("in then"); }).then(() => "skipped", (e: Error) => `second argument got ${e.name}`);
log(errorInThen);

log("-- console.error and console.warn (stderr in Node; the kernel prefixes error: and warn:)");
console.error("an error line", 1, true);
console.warn("a warning line");
console.info("an info line");
console.debug("a debug line");
console.error(`${nf.name}: ${nf.message} (${nf.code})`);
log("-- done");
