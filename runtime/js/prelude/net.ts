// TCP sockets over the ABI's socket calls: the Socket and Listener of http/socket.ts, which the
// HTTP server and fetch() run over, and the `zigu` module's `net.connect`/`net.listen`. One file
// for both homes of the ABI, over a small backend (`NetBackend`): in the guest runtime.c's
// primitives (the network library's sockets, folded into io_poll; makeNet(native) in index.ts),
// on the host the adapter's koffi calls into libukernel_abi.so (adapter/typescript/runtime.ts).
// Reads and writes wait for io_poll's events through the loop's watches, never by spinning.
import * as abi from "../../../src/abi.generated.ts";
import type { Listener, Socket } from "./http/socket.ts";
import { serve as serveHttp, type Handler } from "./http/index.ts";

/** What the sockets need from the loop and the ABI (runtime/js/prelude/native.ts has the same names). */
export interface NetBackend {
  /** The loop calls fn(events) while `handle` is ready for `interest`; interest 0 unwatches. */
  watch(handle: number, interest: number, fn?: (events: number) => void): number;
  tcpListen(port: number, backlog: number): number;
  tcpConnect(addr: number, port: number): number;
  /** accept (0), shutdown (1) or close (2). */
  sock(op: 0 | 1 | 2, handle: number): number;
  send(handle: number, bytes: Uint8Array): number;
  /** Received bytes, null at the end of the stream, or a negative error code. */
  recv(handle: number, max: number): Uint8Array | null | number;
  /** A DNS query handle for a host name (readable once answered), or a negative error code. */
  dnsQuery(name: string): number;
  /** A query's IPv4 addresses, or a negative error code (ERR_WOULD_BLOCK while unanswered). */
  dnsResult(handle: number): number[] | number;
}

/** `result` when it is not an error; else the typed exception (ERR_PERMISSION: the net capability). */
function check(call: string, result: number): number {
  if (result >= 0) return result;
  if (result === abi.ERR_PERMISSION) {
    const e = abi.errorFor(call, result);
    e.message = `${call} needs the "net" capability, which is not active: ukernel.toml must allow it ([capabilities] allow = [..., "net"])`;
    throw e;
  }
  throw abi.errorFor(call, result);
}

/** A refusal of the network policy, with what to change. */
class NetworkPolicyErrorImpl extends abi.NetworkPolicyError {
  constructor(call: string, what: string) {
    super(call, abi.ERR_NOT_ALLOWED);
    Object.defineProperty(this, "name", { value: "NetworkPolicyError", writable: true, configurable: true, enumerable: false });
    this.message = `${call}: ${what} is outside the network policy: ukernel.toml's [network] ${call === "listen" ? "listen" : "connect"} list must name it`;
  }
}
// One class per process, however many times this file is loaded (on the host a CommonJS program
// loads it apart from the runtime's ES module graph): instanceof holds across both.
const registry = globalThis as Record<symbol, unknown>;
export const NetworkPolicyError = (registry[Symbol.for("zigu.NetworkPolicyError")] ??= NetworkPolicyErrorImpl) as typeof NetworkPolicyErrorImpl;
export type NetworkPolicyError = NetworkPolicyErrorImpl;

function checked(call: string, r: number, what: string): number {
  if (r === abi.ERR_NOT_ALLOWED) throw new NetworkPolicyError(call, what);
  if (r === abi.ERR_UNSUPPORTED) {
    const e = abi.errorFor(call, r);
    e.message = `${call}: the VM has no network device: add a [network] section to ukernel.toml`;
    throw e;
  }
  return check(call, r);
}

export function parseIPv4(host: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** 0x0A000202 as "10.0.2.2". */
export function formatIPv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join(".");
}

export interface Net {
  listen(port: number, backlog?: number): Listener;
  connect(host: string, port: number): Promise<Socket>;
  /** A host name's IPv4 addresses (dotted), from the resolver [network] dns names; an address resolves to itself. */
  resolve(host: string): Promise<string[]>;
}

/** listen, connect and resolve over `native`. */
export function makeNet(native: NetBackend): Net {
  const chunk = 65536;

  class GuestSocket implements Socket {
    #h: number;
    #closed = false;
    #eof = false;
    #interest = 0;
    #readers: { resolve(v: Uint8Array | null): void; reject(e: unknown): void }[] = [];
    #writers: { bytes: Uint8Array; resolve(): void; reject(e: unknown): void }[] = [];
    #connecting: { resolve(s: Socket): void; reject(e: unknown): void } | undefined;
    readonly remoteAddress?: string;
    readonly remotePort?: number;

    constructor(handle: number, remote?: { address: string; port: number }) {
      this.#h = handle;
      this.remoteAddress = remote?.address;
      this.remotePort = remote?.port;
    }

    /** Connecting: resolves once the socket is writable (connected), rejects if it fails. */
    connected(): Promise<Socket> {
      return new Promise((resolve, reject) => {
        this.#connecting = { resolve, reject };
        this.#update();
      });
    }

    #update(): void {
      if (this.#closed) return;
      const want = (this.#readers.length ? abi.EV_READABLE : 0) | (this.#writers.length || this.#connecting ? abi.EV_WRITABLE : 0);
      if (want === this.#interest) return;
      this.#interest = want;
      check("io_register", native.watch(this.#h, want, (ev) => this.#ready(ev)));
    }

    #fail(e: unknown): void {
      for (const r of this.#readers.splice(0)) r.reject(e);
      for (const w of this.#writers.splice(0)) w.reject(e);
      this.#connecting?.reject(e);
      this.#connecting = undefined;
    }

    #ready(events: number): void {
      if (this.#connecting && events & (abi.EV_WRITABLE | abi.EV_HANGUP)) {
        const c = this.#connecting;
        this.#connecting = undefined;
        if (events & abi.EV_HANGUP && !(events & abi.EV_WRITABLE)) {
          this.close();
          c.reject(abi.errorFor("tcp_connect", abi.ERR_CONNECTION));
        } else c.resolve(this);
      }
      while (this.#readers.length) {
        const r = native.recv(this.#h, chunk);
        if (r === abi.ERR_WOULD_BLOCK) break;
        const reader = this.#readers.shift()!;
        if (typeof r === "number") {
          reader.reject(abi.errorFor("sock_recv", r));
          continue;
        }
        if (r === null) this.#eof = true;
        reader.resolve(r);
        if (r === null) for (const rest of this.#readers.splice(0)) rest.resolve(null);
      }
      while (this.#writers.length) {
        const w = this.#writers[0]!;
        const n = native.send(this.#h, w.bytes);
        if (n === abi.ERR_WOULD_BLOCK) break;
        if (n < 0) {
          this.#fail(abi.errorFor("sock_send", n));
          break;
        }
        if (n < w.bytes.length) {
          w.bytes = w.bytes.subarray(n);
          continue;
        }
        this.#writers.shift();
        w.resolve();
      }
      this.#update();
    }

    read(): Promise<Uint8Array | null> {
      if (this.#closed || this.#eof) return Promise.resolve(null);
      return new Promise((resolve, reject) => {
        this.#readers.push({ resolve, reject });
        // Try at once: data may already wait (level-triggered readiness comes at the next poll).
        this.#update();
      });
    }

    write(data: Uint8Array): Promise<void> {
      if (this.#closed) return Promise.reject(abi.errorFor("sock_send", abi.ERR_BAD_HANDLE));
      if (data.length === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        this.#writers.push({ bytes: data, resolve, reject });
        this.#update();
      });
    }

    shutdown(): void {
      if (this.#closed) return;
      if (this.#writers.length === 0) {
        native.sock(1, this.#h);
        return;
      }
      const last = this.#writers.at(-1)!;
      const done = last.resolve;
      last.resolve = () => {
        done();
        if (!this.#closed) native.sock(1, this.#h);
      };
    }

    close(): void {
      if (this.#closed) return;
      this.#closed = true;
      native.watch(this.#h, 0);
      native.sock(2, this.#h);
      for (const r of this.#readers.splice(0)) r.resolve(null);
      for (const w of this.#writers.splice(0)) w.reject(abi.errorFor("sock_send", abi.ERR_BAD_HANDLE));
    }
  }

  class GuestListener implements Listener {
    #h: number;
    #closed = false;
    #waiting: { resolve(s: Socket): void; reject(e: unknown): void }[] = [];
    readonly port: number;

    constructor(handle: number, port: number) {
      this.#h = handle;
      this.port = port;
    }

    #ready(): void {
      while (this.#waiting.length) {
        const h = native.sock(0, this.#h);
        if (h === abi.ERR_WOULD_BLOCK) break;
        const w = this.#waiting.shift()!;
        if (h < 0) w.reject(abi.errorFor("tcp_accept", h));
        else w.resolve(new GuestSocket(h));
      }
      if (!this.#waiting.length && !this.#closed) native.watch(this.#h, 0);
    }

    accept(): Promise<Socket> {
      if (this.#closed) return Promise.reject(abi.errorFor("tcp_accept", abi.ERR_BAD_HANDLE));
      return new Promise((resolve, reject) => {
        this.#waiting.push({ resolve, reject });
        if (this.#waiting.length === 1) check("io_register", native.watch(this.#h, abi.EV_READABLE, () => this.#ready()));
      });
    }

    close(): void {
      if (this.#closed) return;
      this.#closed = true;
      native.watch(this.#h, 0);
      native.sock(2, this.#h);
      for (const w of this.#waiting.splice(0)) w.reject(abi.errorFor("tcp_accept", abi.ERR_BAD_HANDLE));
    }
  }

  /** A listening TCP socket on `port` (a port ukernel.toml's [network] listen names). */
  function listen(port: number, backlog = 64): Listener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`listen: port ${port}: expected 1 to 65535`);
    return new GuestListener(checked("listen", native.tcpListen(port, backlog), `port ${port}`), port);
  }

  /** The IPv4 addresses of `host` (numbers): an address itself, else the resolver's answer. */
  async function lookup(call: string, host: string): Promise<number[]> {
    const literal = parseIPv4(host);
    if (literal !== undefined) return [literal];
    const q = native.dnsQuery(host);
    if (q === abi.ERR_INVALID) throw new TypeError(`${call}: ${JSON.stringify(host)} is not a host name (letters, digits, '-' and '_' in dot-separated labels, ${abi.MAX_DNS_NAME_BYTES} bytes at most)`);
    check(call, q);
    try {
      for (;;) {
        const r = native.dnsResult(q);
        if (typeof r !== "number") return r;
        if (r === abi.ERR_NOT_FOUND) {
          const e = abi.errorFor(call, r);
          e.message = `${call}: ${host}: no such host (the resolver, ukernel.toml's [network] dns, has no IPv4 address for it or did not answer)`;
          throw e;
        }
        if (r !== abi.ERR_WOULD_BLOCK) check(call, r);
        await new Promise<void>((resolve) => native.watch(q, abi.EV_READABLE, () => {
          native.watch(q, 0);
          resolve();
        }));
      }
    } finally {
      native.sock(2, q);
    }
  }

  async function resolve(host: string): Promise<string[]> {
    return (await lookup("resolve", String(host))).map(formatIPv4);
  }

  /** A connected TCP socket to `host` (an IPv4 address, or a name the resolver knows) and `port`. */
  async function connect(host: string, port: number): Promise<Socket> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`connect: port ${port}: expected 1 to 65535`);
    const [addr] = await lookup("connect", String(host));
    const where = parseIPv4(host) === undefined ? `${host} (${formatIPv4(addr!)}):${port}` : `${host}:${port}`;
    const s = new GuestSocket(checked("connect", native.tcpConnect(addr!, port), where), { address: formatIPv4(addr!), port });
    return s.connected();
  }

  return { listen, connect, resolve };
}

/**
 * Serves `app.fetch` over HTTP/1.1 (`export default { fetch }`, as Cloudflare Workers, Deno and
 * Bun serve it) on `app.port`, else `port` (the caller's: $PORT, or [network] listen's first).
 */
export async function serveFetch(app: { fetch: Handler; port?: number }, net: { listen(port: number): Listener }, port: number | undefined, log: (line: string) => void, onError: (e: unknown) => void): Promise<void> {
  const p = app.port ?? port;
  if (p === undefined) throw new TypeError("serve: no port: give the export a `port`, or name one in ukernel.toml's [network] listen");
  const listener = net.listen(p);
  log(`Listening on http://0.0.0.0:${p}/`);
  await serveHttp(listener, (req) => app.fetch.call(app, req), { hostname: "localhost", port: p, onError });
}
