// Proxy and Reflect: which trap runs for which operation and in what order, invariants, revocable
// proxies, Reflect.ownKeys ordering, construct/apply traps and Reflect's return values.
export {};

const log = console.log;

function tracing<T extends object>(target: T, name: string, out: string[]): T {
  const handler: ProxyHandler<T> = {};
  for (const trap of ["get", "set", "has", "deleteProperty", "ownKeys", "getOwnPropertyDescriptor", "defineProperty", "getPrototypeOf", "setPrototypeOf", "isExtensible", "preventExtensions", "apply", "construct"] as const) {
    (handler as Record<string, unknown>)[trap] = (...args: unknown[]) => {
      const prop = trap === "get" || trap === "set" || trap === "has" || trap === "deleteProperty" || trap === "getOwnPropertyDescriptor" || trap === "defineProperty" ? ` ${String(args[1])}` : "";
      out.push(`${name}.${trap}${prop}`);
      return (Reflect[trap] as (...a: unknown[]) => unknown)(...args);
    };
  }
  return new Proxy(target, handler);
}

log("-- traps per operation");
{
  const out: string[] = [];
  const p = tracing<Record<string, unknown>>({ a: 1, b: 2 }, "p", out);
  const step = (label: string, f: () => unknown) => {
    out.length = 0;
    const r = f();
    log(`${label} -> ${JSON.stringify(r) ?? String(r)} : ${out.join(", ")}`);
  };
  step("p.a", () => p.a);
  step("p.c = 3", () => (p.c = 3));
  step("'a' in p", () => "a" in p);
  step("delete p.a", () => delete p.a);
  step("Object.keys(p)", () => Object.keys(p));
  step("JSON.stringify(p)", () => JSON.stringify(p));
  step("{...p}", () => ({ ...p }));
  step("Object.assign({}, p)", () => Object.assign({}, p));
  step("for-in", () => { const ks: string[] = []; for (const k in p) ks.push(k); return ks; });
  step("Object.getPrototypeOf", () => Object.getPrototypeOf(p) === Object.prototype);
  step("Object.isExtensible", () => Object.isExtensible(p));
  step("Object.defineProperty", () => Object.keys(Object.defineProperty(p, "d", { value: 4, enumerable: true, configurable: true })));
  step("hasOwnProperty", () => Object.prototype.hasOwnProperty.call(p, "b"));
  step("Object.entries", () => Object.entries(p));
  step("Object.freeze", () => Object.isFrozen(Object.freeze(p)));
  const fnOut: string[] = [];
  const f = tracing(function add(x: number, y: number) { return x + y; }, "f", fnOut);
  log("f(2, 3) ->", f(2, 3), ":", fnOut.join(", "));
  fnOut.length = 0;
  class Point { constructor(public x: number, public y: number) {} }
  const P = tracing(Point, "P", fnOut);
  const pt = new P(1, 2);
  log("new P(1, 2) ->", JSON.stringify(pt), pt instanceof Point, ":", fnOut.join(", "));
}

log("-- handlers that change behaviour");
const defaults = new Proxy<Record<string, number>>({}, { get: (t, k) => (typeof k === "string" && k in t ? t[k]! : 0) });
defaults.x = 5;
log(defaults.x, defaults.missing, "missing" in defaults);
const readOnly = new Proxy({ v: 1 }, {
  set() { return false; },
  deleteProperty() { return false; },
});
log(Reflect.set(readOnly, "v", 2), Reflect.deleteProperty(readOnly, "v"), readOnly.v);
try {
  (function () { "use strict"; readOnly.v = 3; })();
} catch (e) {
  log("strict set on a refusing proxy:", (e as Error).name);
}
const negativeIndex = <T>(arr: T[]) => new Proxy(arr, {
  get(t, k, r) {
    if (typeof k === "string" && /^-\d+$/.test(k)) return t[t.length + Number(k)];
    return Reflect.get(t, k, r);
  },
});
const arr = negativeIndex(["a", "b", "c"]);
log(arr[-1], (arr as unknown as Record<string, string>)["-3"], arr.length, arr.slice(1), Array.isArray(arr));
const hidden = new Proxy({ visible: 1, _private: 2 } as Record<string, number>, {
  has: (t, k) => typeof k === "string" && !k.startsWith("_") && k in t,
  ownKeys: (t) => Reflect.ownKeys(t).filter((k) => typeof k !== "string" || !k.startsWith("_")),
});
log("_private" in hidden, "visible" in hidden, Object.keys(hidden), JSON.stringify(hidden));

log("-- invariants are enforced");
const frozen = Object.freeze({ fixed: 1 });
const liar = new Proxy(frozen, { get: () => 2 });
try {
  log(liar.fixed);
} catch (e) {
  log("lying about a frozen property:", (e as Error).name);
}
const noKeys = new Proxy(Object.preventExtensions({ k: 1 }), { ownKeys: () => [] });
try {
  Object.keys(noKeys);
} catch (e) {
  log("hiding a key of a non-extensible target:", (e as Error).name);
}
const badProto = new Proxy({}, { getPrototypeOf: () => 42 as unknown as object });
try {
  Object.getPrototypeOf(badProto);
} catch (e) {
  log("getPrototypeOf returning a number:", (e as Error).name);
}

log("-- revocable");
const { proxy, revoke } = Proxy.revocable({ alive: true }, {});
log(proxy.alive);
revoke();
for (const [label, op] of [["get", () => proxy.alive], ["typeof", () => typeof proxy], ["Object.keys", () => Object.keys(proxy)]] as const) {
  try {
    log(label, "->", op());
  } catch (e) {
    log(label, "on a revoked proxy:", (e as Error).name);
  }
}

log("-- Reflect");
const sym = Symbol("s");
const obj: Record<string | symbol, unknown> = { b: 1, 10: "ten", a: 2, 2: "two", [sym]: "symbol", "-1": "minus one", "1.5": "decimal" };
log(Reflect.ownKeys(obj).map(String));
log(Reflect.has(obj, "a"), Reflect.has(obj, "toString"), Reflect.has(obj, sym));
log(Reflect.get({ get x() { return this.y; }, y: 1 }, "x", { y: "receiver" }));
const target = {};
log(Reflect.defineProperty(target, "locked", { value: 1 }), Reflect.defineProperty(target, "locked", { value: 2 }), Reflect.getOwnPropertyDescriptor(target, "locked"));
log(Reflect.apply(Math.max, undefined, [1, 5, 3]), Reflect.apply(String.prototype.slice, "abcdef", [1, 3]));
class A { constructor(readonly tag: string) {} }
class B { kind = "B"; }
const made = Reflect.construct(A, ["made"], B) as unknown as B & { tag: string };
log(made.tag, made instanceof B, made instanceof A, Object.getPrototypeOf(made) === B.prototype);
const sealed = Object.seal({ s: 1 });
log(Reflect.isExtensible(sealed), Reflect.preventExtensions({}), Reflect.setPrototypeOf(sealed, null), Reflect.setPrototypeOf({}, null));
log(Reflect.getPrototypeOf([]) === Array.prototype, Object.prototype.toString.call(Reflect));
log("-- proxies around arrays, Maps and functions");
const arrProxy = new Proxy([3, 1, 2], {});
log(arrProxy.sort(), arrProxy.length, JSON.stringify(arrProxy), Array.isArray(arrProxy), Object.prototype.toString.call(arrProxy));
const mapProxy = new Proxy(new Map([["k", 1]]), {});
try {
  mapProxy.get("k");
} catch (e) {
  log("Map method through a proxy:", (e as Error).name);
}
const fnProxy = new Proxy(() => "called", {});
log(typeof fnProxy, fnProxy(), typeof new Proxy({}, {}));
const memo = new Map<number, number>();
const slowSquare = (n: number) => n * n;
const cached = new Proxy(slowSquare, {
  apply(t, self, args: [number]) {
    if (!memo.has(args[0])) memo.set(args[0], Reflect.apply(t, self, args));
    return memo.get(args[0]);
  },
});
log(cached(4), cached(4), cached(5), memo.size);
log("-- done");
