// The prelude of Zigu's in-guest JavaScript runtime: runtime.c runs it (one script, bundled by
// src/runtime-js.ts) before the program. It builds, over runtime.c's primitives (native.ts):
// console with Node's own util.inspect (node-inspect-extracted), the Web APIs (TextEncoder and
// TextDecoder from @exodus/bytes, URL from whatwg-url, EventTarget from event-target-shim,
// structuredClone in clone.ts, the rest in web.ts), process, stack traces in
// the program's own sources (sourcemap.ts) and the `zigu` module. Imports run in order.
import { native } from "./native.ts";
import { atomicsStandIn } from "./globals-early.ts";
import { formatWithOptions, inspect } from "node-inspect-extracted";
import { structuredClone } from "./clone.ts";
import { DOMException, atob, btoa, AbortController, AbortSignal, EventTarget, Event, crypto } from "./web.ts";
import * as zigu from "./zigu.ts";
import { check } from "./zigu.ts";
import { installStackTraces } from "./sourcemap.ts";
import { makeNet, NetworkPolicyError, serveFetch } from "./net.ts";
import { installHttpGlobals, type Handler } from "./http/index.ts";
import { CLOCK_MONOTONIC } from "../../../src/abi.generated.ts";

const g = globalThis as Record<string, unknown>;
if (atomicsStandIn) delete g.Atomics;

function define(target: object, values: Record<string, unknown>, enumerable = false): void {
  for (const [name, value] of Object.entries(values)) Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable });
}

// ---- console ----------------------------------------------------------------------------------

let groupIndent = "";
const counts = new Map<string, number>();
const timers = new Map<string, number>();

function out(fd: 1 | 2, text: string): void {
  if (groupIndent) text = groupIndent + text.replaceAll("\n", `\n${groupIndent}`);
  check(fd === 1 ? "console.log" : "console.error", native.write(fd, `${text}\n`), "log");
}

function ms(): number {
  return native.clock(CLOCK_MONOTONIC) / 1e6;
}

function formatTime(t: number): string {
  if (t >= 1000) return `${(t / 1000).toFixed(3)}s`;
  return `${t.toFixed(3)}ms`;
}

const console = {
  log: (...args: unknown[]) => out(1, formatWithOptions({}, ...args)),
  info: (...args: unknown[]) => out(1, formatWithOptions({}, ...args)),
  debug: (...args: unknown[]) => out(1, formatWithOptions({}, ...args)),
  dirxml: (...args: unknown[]) => out(1, formatWithOptions({}, ...args)),
  warn: (...args: unknown[]) => out(2, formatWithOptions({}, ...args)),
  error: (...args: unknown[]) => out(2, formatWithOptions({}, ...args)),
  dir: (value: unknown, options?: object) => out(1, inspect(value, { customInspect: false, ...options })),
  trace(...args: unknown[]) {
    const err = { name: "Trace", message: formatWithOptions({}, ...args), stack: "" };
    (Error as unknown as { captureStackTrace(o: object, f: unknown): void }).captureStackTrace(err, console.trace);
    out(2, err.stack);
  },
  assert(value: unknown, ...args: unknown[]) {
    if (value) return;
    if (typeof args[0] === "string") args[0] = `Assertion failed: ${args[0]}`;
    else args.unshift("Assertion failed");
    out(2, formatWithOptions({}, ...args));
  },
  count(label: unknown = "default") {
    const l = `${label}`;
    const n = (counts.get(l) ?? 0) + 1;
    counts.set(l, n);
    out(1, `${l}: ${n}`);
  },
  countReset(label: unknown = "default") {
    const l = `${label}`;
    if (!counts.has(l)) return out(2, `Count for '${l}' does not exist`);
    counts.delete(l);
  },
  group(...label: unknown[]) {
    if (label.length > 0) out(1, formatWithOptions({}, ...label));
    groupIndent += "  ";
  },
  groupCollapsed(...label: unknown[]) {
    console.group(...label);
  },
  groupEnd() {
    groupIndent = groupIndent.slice(0, -2);
  },
  time(label: unknown = "default") {
    const l = `${label}`;
    if (timers.has(l)) return out(2, `(node) Warning: Label '${l}' already exists for console.time()`);
    timers.set(l, ms());
  },
  timeLog(label: unknown = "default", ...data: unknown[]) {
    const l = `${label}`;
    const start = timers.get(l);
    if (start === undefined) return out(2, `(node) Warning: No such label '${l}' for console.timeLog()`);
    out(1, formatWithOptions({}, `${l}: ${formatTime(ms() - start)}`, ...data));
  },
  timeEnd(label: unknown = "default") {
    const l = `${label}`;
    const start = timers.get(l);
    if (start === undefined) return out(2, `(node) Warning: No such label '${l}' for console.timeEnd()`);
    timers.delete(l);
    out(1, `${l}: ${formatTime(ms() - start)}`);
  },
};

// ---- process ----------------------------------------------------------------------------------

interface ProcessFile { argv?: unknown; env?: unknown }
let inputs: ProcessFile = {};
const inputBytes = native.file("process.json");
if (inputBytes) inputs = JSON.parse(new TextDecoder().decode(inputBytes)) as ProcessFile;
const args = Array.isArray(inputs.argv) ? inputs.argv.map(String) : [];
const env: Record<string, string> = {};
if (inputs.env && typeof inputs.env === "object") for (const [k, v] of Object.entries(inputs.env)) env[k] = String(v);

const ticks: { fn: (...a: unknown[]) => unknown; args: unknown[] }[] = [];

function runTicks(): void {
  // As Node's processTicksAndRejections: the whole queue, ticks queued by ticks included.
  while (ticks.length > 0) {
    for (const t of ticks.splice(0)) t.fn(...t.args);
  }
}

function writer(fd: 1 | 2) {
  return {
    write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? new TextDecoder().decode(chunk) : String(chunk);
      check(fd === 1 ? "process.stdout.write" : "process.stderr.write", native.write(fd, text), "log");
      const done = typeof encoding === "function" ? encoding : cb;
      if (typeof done === "function") queueMicrotask(() => done());
      return true;
    },
    isTTY: false,
    fd,
  };
}

let exitCode: number | undefined;
const process = {
  argv: ["/zigu/js", "/main.js", ...args],
  argv0: "zigu",
  execArgv: [] as string[],
  env,
  exit(code?: number): never {
    if (code !== undefined) exitCode = code;
    return native.exit(exitCode ?? 0);
  },
  get exitCode(): number | undefined {
    return exitCode;
  },
  set exitCode(v: number | string | undefined) {
    if (v === undefined || v === null) { exitCode = undefined; return; }
    const n = Number(v);
    if (!Number.isInteger(n)) throw new TypeError(`The "code" argument must be an integer. Received ${inspect(v)}`);
    exitCode = n;
  },
  nextTick(fn: (...a: unknown[]) => unknown, ...args: unknown[]): void {
    if (typeof fn !== "function") throw new TypeError(`The "callback" argument must be of type function. Received ${inspect(fn)}`);
    if (ticks.length === 0) native.requestTicks();
    ticks.push({ fn, args });
  },
  hrtime: Object.assign((prev?: [number, number]) => {
    const ns = BigInt(Math.trunc(native.clock(CLOCK_MONOTONIC)));
    let s = Number(ns / 1_000_000_000n), n = Number(ns % 1_000_000_000n);
    if (prev) {
      s -= prev[0]; n -= prev[1];
      if (n < 0) s--, n += 1e9;
    }
    return [s, n] as [number, number];
  }, { bigint: () => BigInt(Math.trunc(native.clock(CLOCK_MONOTONIC))) }),
  uptime: () => native.clock(CLOCK_MONOTONIC) / 1e9,
  stdout: writer(1),
  stderr: writer(2),
};

// ---- uncaught errors ---------------------------------------------------------------------------

function report(error: unknown): void {
  let text: string;
  try {
    text = `Uncaught ${inspect(error)}`;
  } catch {
    text = `Uncaught ${String(error)}`;
  }
  native.write(2, `${text}\n`);
}

// ---- install -----------------------------------------------------------------------------------

installStackTraces();
define(g, {
  console, process, DOMException, atob, btoa, AbortController, AbortSignal, EventTarget, Event,
  structuredClone(value: unknown, options?: { transfer?: unknown[] }): unknown {
    if (arguments.length === 0) throw new TypeError("The \"value\" argument must be specified");
    return structuredClone(value, options);
  },
});
define(g, { crypto }, false);
const net = makeNet(native);
installHttpGlobals(g, { connect: net.connect });

/** The first port of the image policy's `net.listen` (ukernel.toml [network] listen), if any. */
function policyListenPort(): number | undefined {
  const file = native.file("policy");
  if (!file) return undefined;
  const line = new TextDecoder().decode(file).split("\n").find((l) => l.startsWith("net.listen="));
  const first = Number(line?.slice("net.listen=".length).split(",")[0]);
  return Number.isInteger(first) && first > 0 ? first : undefined;
}

/** `export default { fetch }`: served on its port, $PORT, or [network] listen's first. */
function serve(app: { fetch: Handler; port?: number }): Promise<void> {
  const env = (g.process as { env: Record<string, string | undefined> }).env;
  return serveFetch(app, net, env.PORT ? Number(env.PORT) : policyListenPort(), (l) => console.log(l), (e) => console.error(e));
}

(globalThis as Record<symbol, unknown>)[Symbol.for("zigu")] = Object.freeze({ ...zigu, net: Object.freeze({ listen: net.listen, connect: net.connect, resolve: net.resolve }), serve, NetworkPolicyError });
native.setHooks(runTicks, report);

// Date's strings name the time zone as Node's do (the runtime's zone is UTC).
for (const method of ["toString", "toTimeString"] as const) {
  const original = Date.prototype[method];
  define(Date.prototype, {
    [method](this: Date) {
      const s = original.call(this);
      return s.endsWith("GMT+0000") ? `${s} (Coordinated Universal Time)` : s;
    },
  });
}
