// The Web APIs a TypeScript programmer reaches for, as Node 20 has them: TextEncoder/TextDecoder,
// URL/URLSearchParams, atob/btoa, structuredClone, AbortController/AbortSignal, EventTarget/
// Event, setImmediate, performance.now, crypto. They are reached through globalThis with the
// types below (whatever runtime/js/globals.d.ts declares): a missing one prints "missing: NAME"
// (a line Node never prints) and its section is skipped, so the others still run.
export {};

const log = console.log;

interface WebApis {
  TextEncoder: new () => { encoding: string; encode(s?: string): Uint8Array; encodeInto(s: string, dest: Uint8Array): { read: number; written: number } };
  TextDecoder: new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }) => { encoding: string; fatal: boolean; ignoreBOM: boolean; decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string };
  URL: {
    new (url: string, base?: string | UrlLike): UrlLike;
    canParse?: (url: string, base?: string) => boolean;
  };
  URLSearchParams: new (init?: string | Record<string, string> | [string, string][]) => SearchParams;
  atob(s: string): string;
  btoa(s: string): string;
  structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T;
  AbortController: new () => { signal: Signal; abort(reason?: unknown): void };
  AbortSignal: { abort(reason?: unknown): Signal; timeout(ms: number): Signal; any?: (signals: Signal[]) => Signal };
  EventTarget: new () => Target;
  Event: new (type: string, init?: { cancelable?: boolean; bubbles?: boolean }) => Evt;
  setImmediate(f: (...args: unknown[]) => void, ...args: unknown[]): unknown;
  clearImmediate(id: unknown): void;
  performance: { now(): number; timeOrigin: number };
  crypto: { getRandomValues<T extends ArrayBufferView>(a: T): T; randomUUID(): string };
}
interface UrlLike {
  href: string; origin: string; protocol: string; username: string; password: string; host: string; hostname: string;
  port: string; pathname: string; search: string; hash: string; searchParams: SearchParams; toString(): string; toJSON(): string;
}
interface SearchParams extends Iterable<[string, string]> {
  get(k: string): string | null; getAll(k: string): string[]; has(k: string): boolean; set(k: string, v: string): void;
  append(k: string, v: string): void; delete(k: string): void; sort(): void; toString(): string; size?: number;
  keys(): IterableIterator<string>; values(): IterableIterator<string>; forEach(f: (v: string, k: string) => void): void;
}
interface Evt { type: string; defaultPrevented: boolean; cancelable: boolean; target: unknown; currentTarget: unknown; timeStamp: number; preventDefault(): void; stopImmediatePropagation(): void; eventPhase: number; isTrusted: boolean }
interface Target {
  addEventListener(type: string, l: ((e: Evt) => void) | { handleEvent(e: Evt): void } | null, o?: { once?: boolean; signal?: Signal } | boolean): void;
  removeEventListener(type: string, l: (e: Evt) => void): void;
  dispatchEvent(e: Evt): boolean;
}
interface Signal extends Target { aborted: boolean; reason: unknown; throwIfAborted(): void; onabort: ((e: Evt) => void) | null }

const g = globalThis as unknown as Partial<WebApis>;

async function section(title: string, needs: (keyof WebApis)[], body: (api: WebApis) => void | Promise<void>): Promise<void> {
  log(`-- ${title}`);
  const missing = needs.filter((n) => g[n] === undefined);
  if (missing.length > 0) {
    log(`missing: ${missing.join(", ")}`);
    return;
  }
  try {
    await body(g as WebApis);
  } catch (e) {
    log(`section threw ${(e as Error)?.name}`);
  }
}

await section("TextEncoder and TextDecoder", ["TextEncoder", "TextDecoder"], ({ TextEncoder, TextDecoder }) => {
  const enc = new TextEncoder();
  log(enc.encoding, Array.from(enc.encode("aé€🦀")).join(","), enc.encode().length, Array.from(enc.encode("\ud800x")).join(","));
  const dest = new Uint8Array(5);
  log(JSON.stringify(enc.encodeInto("a€🦀", dest)), Array.from(dest).join(","));
  const dec = new TextDecoder();
  log(dec.encoding, dec.fatal, dec.ignoreBOM, dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])), dec.decode(Uint8Array.of(0xf0, 0x9f, 0xa6, 0x80).buffer));
  log(JSON.stringify(dec.decode(Uint8Array.of(0xff, 0x41, 0xc3))), JSON.stringify(new TextDecoder("utf-8", { ignoreBOM: true }).decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41))));
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.of(0xc3, 0x28));
  } catch (e) {
    log("fatal decoder:", (e as Error).name);
  }
  const streaming = new TextDecoder();
  const bytes = enc.encode("€🦀");
  log(JSON.stringify(streaming.decode(bytes.subarray(0, 2), { stream: true })), JSON.stringify(streaming.decode(bytes.subarray(2, 5), { stream: true })), JSON.stringify(streaming.decode(bytes.subarray(5))));
  log(new TextDecoder("UTF8").encoding, new TextDecoder("unicode-1-1-utf-8").encoding);
  const round = "Zigu: ünïcödé, 中文, 🦀🚀";
  log(dec.decode(enc.encode(round)) === round, enc.encode(round).length);
});

await section("URL", ["URL"], ({ URL }) => {
  const u = new URL("https://user:pa%20ss@Example.COM:8080/a/./b/../c%20d?q=1&r=%C3%A9#frag");
  log(u.href);
  log(u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin);
  log(new URL("../up?x#y", "http://h.test/a/b/c").href, new URL("//other.test/p", "https://h.test/").href, new URL("?only", "http://h.test/p/q").href);
  log(new URL("HTTP://H.TEST:80/").href, new URL("https://h.test:443/").port === "", new URL("http://h.test/ü ö?ä=ü#é").href);
  log(new URL("http://[::1]:3000/").host, new URL("http://192.168.0.1.").hostname, new URL("http://0x7f.1/").hostname, new URL("file:///tmp/x y").pathname);
  log(new URL("http://xn--nxasmq6b.test/").hostname, new URL("http://ÉXAMPLE.test/").hostname, new URL("http://faß.test/").hostname);
  for (const bad of ["not a url", "http://", "http://exa mple.com", "https://h:99999/"]) {
    try {
      new URL(bad);
      log(bad, "parsed");
    } catch (e) {
      log(JSON.stringify(bad), (e as Error).name);
    }
  }
  const m = new URL("http://h.test/path");
  m.pathname = "/new path";
  m.search = "a=1";
  m.hash = "h";
  m.port = "8081";
  m.searchParams.append("b", "2 3");
  log(m.href, String(m), JSON.stringify({ m }), m.toJSON());
  if (typeof URL.canParse === "function") log(URL.canParse("http://ok.test"), URL.canParse("nope"), URL.canParse("/rel", "http://base.test"));
  else log("missing: URL.canParse");
});

await section("URLSearchParams", ["URLSearchParams"], ({ URLSearchParams }) => {
  const p = new URLSearchParams("?a=1&b=2&a=3&c=%20x+y&d=&e");
  log(p.get("a"), p.getAll("a"), p.get("c"), JSON.stringify(p.get("d")), JSON.stringify(p.get("e")), p.get("missing"), p.has("b"));
  p.append("z", "last");
  p.set("a", "only");
  p.delete("b");
  log(p.toString(), [...p.keys()].join(","), [...p.values()].join(","));
  p.sort();
  log(p.toString(), JSON.stringify([...p]));
  log(new URLSearchParams({ x: "1", "y z": "é&=" }).toString(), new URLSearchParams([["k", "v"], ["k", "w"]]).toString());
  const seen: string[] = [];
  new URLSearchParams("one=1&two=2").forEach((v, k) => seen.push(`${k}=${v}`));
  log(seen.join(" "), new URLSearchParams("~*-._!'()").toString());
  if (p.size !== undefined) log("size", p.size);
  else log("missing: URLSearchParams.size");
});

await section("atob and btoa", ["atob", "btoa"], ({ atob, btoa }) => {
  log(btoa("hello"), btoa(""), btoa("\u00ff\u00fe"), atob("aGVsbG8="), atob(" aGVs bG8 "), atob("YQ"), JSON.stringify(atob("AAE=")));
  for (const [label, f] of [["btoa of a wide char", () => btoa("€")], ["atob of a bad length", () => atob("abcde")], ["atob of a bad char", () => atob("a*==")]] as const) {
    try {
      log(label, f());
    } catch (e) {
      log(label, (e as Error).name);
    }
  }
  const bytes = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  log(btoa(bytes).length, atob(btoa(bytes)) === bytes, btoa(bytes).slice(-12));
});

await section("structuredClone", ["structuredClone"], ({ structuredClone }) => {
  const original = { n: 1, s: "str", d: new Date(0), re: /x/gi, m: new Map([[1, { deep: true }]]), set: new Set([1, 2]), arr: [1, , 3], ta: Uint8Array.of(1, 2), big: 10n, nested: { u: undefined, nul: null } };
  const clone = structuredClone(original);
  log(clone !== original, clone.d instanceof Date, clone.d.getTime(), clone.re.source, clone.re.flags, clone.m.get(1), clone.m.get(1) !== original.m.get(1), [...clone.set], 1 in clone.arr, clone.ta, clone.big, clone.nested);
  const cyclic: Record<string, unknown> = { name: "cycle" };
  cyclic.self = cyclic;
  const cc = structuredClone(cyclic);
  log(cc.self === cc, cc !== cyclic);
  class Custom { x = 1; method() { return 1; } }
  const cloned = structuredClone(new Custom());
  log(cloned instanceof Custom, Object.getPrototypeOf(cloned) === Object.prototype, cloned);
  for (const [label, v] of [["a function", () => 1], ["a symbol", Symbol("s")], ["an object with a function", { f() {} }]] as const) {
    try {
      structuredClone(v);
      log(label, "cloned");
    } catch (e) {
      log(label, (e as Error).name);
    }
  }
  const err = structuredClone(new RangeError("cloned error"));
  log(err instanceof RangeError, err.name, err.message);
  const buf = new ArrayBuffer(8);
  const moved = structuredClone(buf, { transfer: [buf] });
  log(moved.byteLength, buf.byteLength);
});

await section("AbortController and AbortSignal", ["AbortController", "AbortSignal"], async ({ AbortController, AbortSignal }) => {
  const ac = new AbortController();
  const events: string[] = [];
  ac.signal.addEventListener("abort", (e) => events.push(`listener ${e.type}`));
  ac.signal.onabort = (e) => events.push(`onabort ${e.type}`);
  log(ac.signal.aborted, ac.signal.reason);
  ac.abort();
  ac.abort("second abort is ignored");
  log(ac.signal.aborted, (ac.signal.reason as Error).name, events.join(", "));
  try {
    ac.signal.throwIfAborted();
  } catch (e) {
    log("throwIfAborted:", (e as Error).name);
  }
  const custom = new AbortController();
  custom.abort({ why: "custom reason" });
  log(custom.signal.reason);
  const already = AbortSignal.abort("given");
  log(already.aborted, already.reason);
  // Node's timeout signal does not keep the process alive: a timer of our own waits for it.
  const t = AbortSignal.timeout(5);
  let heard = false;
  t.addEventListener("abort", () => { heard = true; }, { once: true });
  await new Promise((r) => setTimeout(r, 30));
  log("timeout signal:", t.aborted, heard, (t.reason as Error).name);
  const ctrl = new AbortController();
  const target = (globalThis as unknown as Partial<WebApis>).EventTarget;
  if (target) {
    const et = new target();
    let calls = 0;
    et.addEventListener("ping", () => calls++, { signal: ctrl.signal });
    et.dispatchEvent(new (g.Event!)("ping"));
    ctrl.abort();
    et.dispatchEvent(new (g.Event!)("ping"));
    log("listener removed by its signal after", calls, "call");
  }
  const cancellable = (ms: number, signal: Signal) => new Promise<string>((resolve, reject) => {
    const id = setTimeout(() => resolve("finished"), ms);
    signal.addEventListener("abort", () => { clearTimeout(id); reject(signal.reason); }, { once: true });
  });
  const c2 = new AbortController();
  setTimeout(() => c2.abort(new Error("cancelled")), 2);
  log(await cancellable(50, c2.signal).catch((e: Error) => `rejected: ${e.message}`), await cancellable(1, new AbortController().signal));
});

await section("EventTarget and Event", ["EventTarget", "Event"], ({ EventTarget, Event }) => {
  const et = new EventTarget();
  const order: string[] = [];
  const first = (e: Evt) => order.push(`first:${e.type}:${e.target === et}:${e.currentTarget === et}`);
  et.addEventListener("go", first);
  et.addEventListener("go", first);
  et.addEventListener("go", { handleEvent: (e: Evt) => order.push(`object:${e.type}`) });
  et.addEventListener("go", () => order.push("once"), { once: true });
  et.addEventListener("go", (e) => { order.push("stopper"); e.stopImmediatePropagation(); });
  et.addEventListener("go", () => order.push("never runs"));
  log(et.dispatchEvent(new Event("go")), et.dispatchEvent(new Event("go")));
  log(order.join(" "));
  et.removeEventListener("go", first);
  order.length = 0;
  et.dispatchEvent(new Event("go"));
  log(order.join(" "));
  const cancelable = new Event("c", { cancelable: true });
  et.addEventListener("c", (e) => e.preventDefault());
  log(et.dispatchEvent(cancelable), cancelable.defaultPrevented, cancelable.cancelable, cancelable.isTrusted, typeof cancelable.timeStamp);
  const plain = new Event("p");
  plain.preventDefault();
  log(plain.defaultPrevented, plain.type, plain.eventPhase, plain.target);
  class Emitter extends EventTarget {
    fire(n: number): boolean { return this.dispatchEvent(Object.assign(new Event("num"), { n })); }
  }
  const em = new Emitter();
  const got: number[] = [];
  em.addEventListener("num", (e) => got.push((e as Evt & { n: number }).n));
  em.fire(1);
  em.fire(2);
  log(got, em instanceof EventTarget);
  try {
    et.dispatchEvent({ type: "fake" } as Evt);
  } catch (e) {
    log("dispatching a non-Event:", (e as Error).name);
  }
});

await section("setImmediate", ["setImmediate", "clearImmediate"], async ({ setImmediate, clearImmediate }) => {
  const order: string[] = [];
  await new Promise<void>((done) => {
    setTimeout(() => {
      // Inside a timer callback Node runs immediates before the next timers phase.
      setTimeout(() => { order.push("timeout 0"); done(); }, 0);
      setImmediate(() => order.push("immediate 1"));
      setImmediate((a: unknown, b: unknown) => order.push(`immediate 2 ${a} ${b}`), "x", 7);
      const cancelled = setImmediate(() => order.push("never"));
      clearImmediate(cancelled);
      Promise.resolve().then(() => order.push("promise"));
      queueMicrotask(() => order.push("microtask"));
    }, 1);
  });
  log(order.join(", "));
  const nested: string[] = [];
  await new Promise<void>((done) => {
    setImmediate(() => {
      nested.push("outer");
      setImmediate(() => { nested.push("inner (next turn)"); done(); });
      Promise.resolve().then(() => nested.push("outer's promise"));
    });
    setImmediate(() => nested.push("second outer"));
  });
  log(nested.join(", "));
});

await section("queueMicrotask", [], () => {
  const out: string[] = [];
  queueMicrotask(() => out.push("a"));
  try {
    queueMicrotask("not a function" as unknown as () => void);
  } catch (e) {
    out.push(`non-function: ${(e as Error).name}`);
  }
  log(out.join(" "), typeof queueMicrotask);
});

await section("performance.now", ["performance"], ({ performance }) => {
  const a = performance.now();
  let spin = 0;
  for (let i = 0; i < 100000; i++) spin += i;
  const b = performance.now();
  log(typeof a, a >= 0, b >= a, spin, typeof performance.timeOrigin);
});

await section("crypto (needs the random capability)", ["crypto"], ({ crypto }) => {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  log(bytes.length, bytes instanceof Uint8Array, crypto.getRandomValues(new Uint32Array(4)).length);
  log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()), crypto.randomUUID() !== crypto.randomUUID());
  try {
    crypto.getRandomValues(new Uint8Array(70000));
  } catch (e) {
    log("more than 65536 bytes:", (e as Error).name);
  }
  try {
    crypto.getRandomValues(new Float64Array(2) as unknown as Uint8Array);
  } catch (e) {
    log("a float array:", (e as Error).name);
  }
});

log("-- globals present");
log(["TextEncoder", "TextDecoder", "URL", "URLSearchParams", "atob", "btoa", "structuredClone", "AbortController", "AbortSignal", "EventTarget", "Event", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "crypto", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "console", "process"].filter((n) => !(n in globalThis)).join(",") || "all present");
log("-- done");
