/**
 * The Zigu TypeScript runtime on the host: runs a workload's `main()` with timers and the console
 * on the ABI. Its loop is the one the in-guest engine will have: run the microtasks, then wait in
 * io_poll for the next timer (an ABI timer), fire what is due, repeat; no other way of waiting.
 *
 *   node --import tsx adapter/typescript/runtime.ts --project DIR
 *
 * reads DIR/ukernel.toml, puts its policy in force, imports workload.entry and exits with main()'s
 * result. setTimeout/setInterval need the time capability, console.* the log capability; what
 * the ABI cannot do yet (sockets, files, processes) is not provided.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "smol-toml";
import Module, { register } from "node:module";
import { format } from "node:util";
import { Abi, CapabilityError, numbers as n } from "./abi.ts";
import { CapabilityError as ZiguCapabilityError } from "./zigu.ts";
import { makeNet, serveFetch, type NetBackend } from "../../runtime/js/prelude/net.ts";
import { installHttpGlobals } from "../../runtime/js/prelude/http/index.ts";

const capabilityNames = ["log", "time", "task", "io", "net", "random"] as const;

interface Timer {
  id: number;
  deadline: bigint;
  seq: number;
  fn: (...a: unknown[]) => void;
  args: unknown[];
  interval: bigint | null;
}

const realSetImmediate = setImmediate;
/** Lets every pending microtask (promise reaction) run. */
const drainMicrotasks = () => new Promise<void>((r) => realSetImmediate(r));

/** A handle registered with io_poll and the function the loop calls with its events. */
interface Watch {
  handle: bigint;
  fn: (events: number) => void;
}

export class Loop {
  private timers = new Map<number, Timer>();
  /** By user_data (2 and up; 1 is the loop's timer). */
  private watches = new Map<bigint, Watch>();
  private byHandle = new Map<bigint, bigint>();
  private nextWatch = 2n;
  private nextId = 1;
  private seq = 0;
  private readonly handle: bigint;

  constructor(private readonly abi: Abi) {
    this.handle = abi.timerCreate();
    abi.register(this.handle, n.EV_READABLE, 1n);
  }

  setTimer(fn: (...a: unknown[]) => void, ms: number | undefined, args: unknown[], repeat: boolean): number {
    if (typeof fn !== "function") throw new TypeError("the callback must be a function");
    const delay = BigInt(Math.max(1, Math.round((Number(ms) || 0) * 1e6)));
    const id = this.nextId++;
    this.timers.set(id, { id, deadline: this.abi.nowNs() + delay, seq: this.seq++, fn, args, interval: repeat ? delay : null });
    return id;
  }

  clear(id: unknown): void {
    if (typeof id === "number") this.timers.delete(id);
  }

  /** Calls fn(events) while `handle` is ready for `interest` (as runtime.c's watches); 0 unwatches. */
  watch(handle: bigint, interest: number, fn?: (events: number) => void): number {
    const old = this.byHandle.get(handle);
    if (old !== undefined) {
      this.abi.raw("io_unregister", handle);
      this.watches.delete(old);
      this.byHandle.delete(handle);
    }
    if (interest === 0 || !fn) return 0;
    const key = this.nextWatch++;
    const r = this.abi.raw("io_register", handle, interest, key);
    if (r < 0) return r;
    this.watches.set(key, { handle, fn });
    this.byHandle.set(handle, key);
    return 0;
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) if (!best || t.deadline < best.deadline || (t.deadline === best.deadline && t.seq < best.seq)) best = t;
    return best;
  }

  /** Runs until `main` settles and no timer is left; returns main's result. */
  async run(main: () => Promise<unknown>): Promise<unknown> {
    let settled = false;
    let result: unknown;
    let failure: unknown;
    let failed = false;
    main().then(
      (v) => ((settled = true), (result = v)),
      (e) => ((settled = true), (failed = true), (failure = e)),
    );
    for (;;) {
      await drainMicrotasks();
      const next = this.earliest();
      if (!next && this.watches.size === 0) {
        if (settled) break;
        throw new Error("the event loop would wait for ever: main() awaits something no timer or event can settle");
      }
      const now = this.abi.nowNs();
      if (!next || next.deadline > now) {
        if (next) this.abi.timerArm(this.handle, next.deadline - now);
        // The only way this runtime waits: the next timer, or a watched socket.
        for (const e of this.abi.poll(64, -1n)) this.watches.get(e.user_data)?.fn(e.events);
        continue;
      }
      if (next.interval !== null) {
        next.deadline += next.interval;
        next.seq = this.seq++;
      } else this.timers.delete(next.id);
      next.fn(...next.args);
    }
    if (failed) throw failure;
    return result;
  }
}

function installGlobals(abi: Abi, loop: Loop): void {
  const g = globalThis as Record<string, unknown>;
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => loop.setTimer(fn, ms, args, false);
  g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => loop.setTimer(fn, ms, args, true);
  g.clearTimeout = g.clearInterval = (id: unknown) => loop.clear(id);
  // Node's own formatting, one ABI log call per line (as the in-guest runtime writes them).
  const write = (level: number) => (...parts: unknown[]) => {
    try {
      for (const line of format(...parts).split("\n")) abi.log(line, level);
    } catch (err) {
      throw err instanceof CapabilityError ? new ZiguCapabilityError(level === n.LOG_ERROR || level === n.LOG_WARN ? "console.error" : "console.log", "log") : err;
    }
  };
  g.console = { ...console, log: write(n.LOG_INFO), info: write(n.LOG_INFO), warn: write(n.LOG_WARN), error: write(n.LOG_ERROR), debug: write(n.LOG_DEBUG) };
}

export async function runProject(projectDir: string): Promise<number> {
  const dir = resolve(projectDir);
  const config = parse(readFileSync(join(dir, "ukernel.toml"), "utf8")) as { workload?: { runtime?: string; entry?: string }; capabilities?: { allow?: string[] } };
  if (config.workload?.runtime !== "typescript") throw new Error(`${join(dir, "ukernel.toml")}: workload.runtime is not "typescript"`);
  const caps = config.capabilities?.allow ?? [];
  process.env.UKERNEL_CAPS = caps.join(",");
  if (!caps.includes("time")) {
    process.stderr.write('runtime: timers need the time capability: add "time" to capabilities.allow\n');
    return 2;
  }
  const abi = new Abi();
  // As in the microVM: every capability the policy allows, entered before the program's first line.
  const allowed = capabilityNames.filter((c) => caps.includes(c));
  abi.enter(...allowed.map((c) => n[`CAP_${c.toUpperCase()}` as keyof typeof n] as number));
  (globalThis as Record<symbol, unknown>)[Symbol.for("zigu.host")] = { abi, active: new Set(allowed) };
  // `import … from "zigu"`: the host's module of the same API (zigu.ts).
  // ES modules resolve through a hook; a project without "type": "module" is loaded by tsx as
  // CommonJS, whose resolver is Module._resolveFilename.
  const ziguPath = join(import.meta.dirname, "zigu.ts");
  register(`data:text/javascript,${encodeURIComponent(`export async function resolve(s, c, next) { return s === "zigu" ? { url: ${JSON.stringify(pathToFileURL(ziguPath).href)}, shortCircuit: true } : next(s, c); }`)}`);
  const cjs = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
  const resolveFilename = cjs._resolveFilename;
  cjs._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === "zigu" ? ziguPath : resolveFilename.call(this, request, ...rest);
  };
  const loop = new Loop(abi);
  // The sockets over libukernel_abi.so's socket calls (its policy from UKERNEL_NET_*, which
  // `ukernel adapter` sets from [network]), and the guest's HTTP layer over them: Request,
  // Response, Headers and fetch are the guest runtime's, not Node's, so a program sees one API.
  const h = (v: number) => BigInt(v);
  const backend: NetBackend = {
    watch: (handle, interest, fn) => loop.watch(h(handle), interest, fn),
    tcpListen: (port, backlog) => abi.raw("tcp_listen", port, backlog),
    tcpConnect: (addr, port) => abi.raw("tcp_connect", addr, port),
    sock: (op, handle) => abi.raw(op === 0 ? "tcp_accept" : op === 1 ? "sock_shutdown" : "handle_close", h(handle)),
    send: (handle, bytes) => abi.raw("sock_send", h(handle), bytes, BigInt(bytes.length)),
    recv: (handle, max) => {
      const buf = new Uint8Array(Math.min(max, 65536));
      const r = abi.raw("sock_recv", h(handle), buf, BigInt(buf.length));
      return r < 0 ? r : r === 0 ? null : buf.slice(0, r);
    },
    dnsQuery: (name) => {
      const bytes = new TextEncoder().encode(name);
      return abi.raw("dns_query", bytes, BigInt(bytes.length));
    },
    dnsResult: (handle) => {
      const out = new Uint32Array(n.MAX_DNS_ADDRS);
      const r = abi.raw("dns_result", h(handle), out, BigInt(out.length));
      return r < 0 ? r : Array.from(out.subarray(0, r));
    },
  };
  const net = makeNet(backend);
  installHttpGlobals(globalThis, { connect: net.connect });
  (globalThis as Record<symbol, unknown>)[Symbol.for("zigu.net")] = net;
  const mod = (await import(pathToFileURL(join(dir, config.workload.entry ?? "src/main.ts")).href)) as { default?: unknown; main?: unknown };
  const exported = mod.default ?? mod.main;
  const app = exported as { fetch?: unknown; port?: number } | undefined;
  const main: (() => unknown) | undefined = typeof exported === "function"
    ? (exported as () => unknown)
    : app && typeof app.fetch === "function"
      ? () => serveFetch(app as { fetch: () => Response; port?: number }, net, process.env.PORT ? Number(process.env.PORT) : (process.env.UKERNEL_NET_LISTEN ?? "").split(",").map(Number).find((p) => p > 0), (l) => console.log(l), (e) => console.error(e))
      : undefined;
  if (typeof main !== "function") throw new Error(`${config.workload.entry}: exports no main() (default export or named main) and no { fetch } to serve`);
  installGlobals(abi, loop);
  try {
    const result = await loop.run(async () => main());
    return typeof result === "number" ? result : 0;
  } catch (err) {
    process.stderr.write(err instanceof CapabilityError ? `runtime: capability refused: ${err.message}\n` : `${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { project: { type: "string", default: "." } } });
  runProject(values.project!).then((code) => process.exit(code), (err: unknown) => {
    process.stderr.write(`runtime: ${(err as Error).message}\n`);
    process.exit(2);
  });
}
