// Map, Set, WeakMap, WeakSet, WeakRef: insertion order, SameValueZero keys (NaN, -0), mutation
// during iteration, object keys, groupings built by hand, and how console.log shows them.
export {};

const log = console.log;

log("-- Map");
const m = new Map<unknown, string>();
const objKey = { id: 1 };
const fnKey = () => 0;
m.set("b", "string b").set(1, "number 1").set("1", "string 1").set(NaN, "NaN").set(-0, "zero").set(objKey, "object").set(fnKey, "function").set(undefined, "undefined").set(null, "null");
log(m.size, m.get(NaN), m.get(0), m.get(+0), m.has(-0), [...m.keys()].map((k) => Object.is(k, -0) ? "-0" : String(k)).join(" "), m.get({ id: 1 }), m.get(objKey));
m.set("b", "replaced b");
m.delete(1);
m.set(1, "number 1 again");
log([...m.values()].join(" | "));
log([...m.entries()].slice(0, 2), Array.from(m, ([k]) => typeof k).join(","));
const visited: string[] = [];
const live = new Map([["a", 1], ["b", 2], ["c", 3]]);
for (const [k, v] of live) {
  visited.push(`${k}${v}`);
  if (k === "a") { live.delete("b"); live.set("d", 4); }
  if (k === "c") live.set("a", 10);
}
log(visited.join(" "), [...live].join(" "));
log(Object.fromEntries(new Map([["x", 1], ["y", 2]])), new Map(Object.entries({ p: 1, q: 2 })).get("q"));
const it = new Map([[1, "one"]]).entries();
log(it.next(), it.next(), Object.prototype.toString.call(it));
const grouped = new Map<string, number[]>();
for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
  const key = n % 3 === 0 ? "fizz" : n % 2 === 0 ? "even" : "odd";
  grouped.set(key, [...(grouped.get(key) ?? []), n]);
}
log(grouped);
m.clear();
log(m.size, [...m]);

log("-- Set");
const s = new Set([3, 1, 3, NaN, NaN, 0, -0, "3", 1]);
log(s.size, [...s].map((x) => Object.is(x, -0) ? "-0" : JSON.stringify(x)).join(" "), s.has(NaN), s.has(-0));
s.delete(3);
s.add(3);
log([...s].join(","));
const a = new Set([1, 2, 3, 4]);
const b = new Set([3, 4, 5]);
log([...a].filter((x) => b.has(x)), [...new Set([...a, ...b])], [...a].filter((x) => !b.has(x)));
const setVisits: number[] = [];
const growing = new Set([1]);
for (const x of growing) {
  setVisits.push(x);
  if (x < 5) growing.add(x + 1);
}
log(setVisits.join(","));
log(new Set("mississippi"), [...new Set("mississippi")].join(""), new Set([[1], [1]]).size);
const si = new Set(["a", "b"]);
log([...si.entries()], [...si.keys()], si.forEach.length);
const seen: string[] = [];
si.forEach(function (this: { tag: string }, v, k, set) { seen.push(`${this.tag}:${v}=${k}:${set === si}`); }, { tag: "ctx" });
log(seen.join(" "));

log("-- WeakMap, WeakSet, WeakRef");
const wm = new WeakMap<object, number>();
const k1 = {};
const k2: number[] = [];
wm.set(k1, 1).set(k2, 2);
log(wm.get(k1), wm.has(k2), wm.has({}), wm.delete(k2), wm.has(k2), wm.get({}));
for (const bad of [1, "s", null, undefined]) {
  try {
    wm.set(bad as unknown as object, 0);
  } catch (e) {
    log(`WeakMap key ${String(bad)}:`, (e as Error).name);
  }
}
try {
  wm.set(Symbol.for("registered") as unknown as object, 1);
  log("registered symbol as a key: accepted");
} catch (e) {
  log("registered symbol as a key:", (e as Error).name);
}
const ws = new WeakSet<object>([k1]);
log(ws.has(k1), ws.has({}), ws.delete(k1), ws.has(k1));
const privateData = new WeakMap<object, { count: number }>();
class Tracked {
  constructor() {
    privateData.set(this, { count: 0 });
  }
  bump(): number {
    return ++privateData.get(this)!.count;
  }
}
const tr = new Tracked();
tr.bump();
log(tr.bump(), Object.keys(tr));
const target = { alive: true };
const ref = new WeakRef(target);
log(ref.deref() === target, ref.deref()?.alive, Object.prototype.toString.call(ref), typeof FinalizationRegistry);

log("-- console.log of collections");
log(new Map<unknown, unknown>([["k", { nested: [1, 2] }], [{ obj: true }, new Set([1])]]));
log(new Set([1, "two", [3]]), new Map(), new Set());
log(new WeakMap(), new WeakSet());
log({ m: new Map([[1, new Map([[2, new Map([[3, "deep"]])]])]]) });
log([new Map([["a", 1]]).keys(), new Set([5]).values()]);
log(new Map(Array.from({ length: 120 }, (_, i) => [i, i * i])).size, new Set(Array.from({ length: 30 }, (_, i) => i)));

log("-- a cache with LRU eviction");
class Lru<K, V> {
  private map = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) { this.map.delete(k); this.map.set(k, v); }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!);
  }
  keys(): K[] {
    return [...this.map.keys()];
  }
}
const lru = new Lru<string, number>(3);
for (const [op, key] of [["set", "a"], ["set", "b"], ["set", "c"], ["get", "a"], ["set", "d"], ["get", "b"], ["set", "e"], ["get", "c"]] as const) {
  if (op === "set") lru.set(key, key.charCodeAt(0));
  else lru.get(key);
  log(op, key, lru.keys().join(""));
}
log("-- done");
