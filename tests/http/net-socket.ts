// node:net behind the HTTP layer's Socket/Listener interfaces (runtime/js/prelude/http/socket.ts),
// handing out plain Uint8Arrays (not Buffers), as the guest's sockets will. `U8` makes the chunks
// in another realm (the vm test's context).
import net from "node:net";
import type { Listener, Socket } from "../../runtime/js/prelude/http/socket.ts";

export function wrapSocket(s: net.Socket, U8: Uint8ArrayConstructor = Uint8Array): Socket {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | null = null;
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  s.on("data", (b: Buffer) => {
    const c = new U8(b.length);
    c.set(b);
    chunks.push(c);
    if (chunks.length > 16) s.pause();
    wake();
  });
  s.on("end", () => ((ended = true), wake()));
  s.on("close", () => ((ended = true), wake()));
  s.on("error", (err) => ((failure = err), wake()));
  return {
    async read() {
      for (;;) {
        if (chunks.length > 0) {
          const c = chunks.shift()!;
          if (chunks.length < 4) s.resume();
          return c;
        }
        if (failure) throw failure;
        if (ended) return null;
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    },
    write(data) {
      return new Promise((resolve, reject) => {
        if (s.destroyed || s.writableEnded) return reject(new Error("write to a closed socket"));
        s.write(data, (err) => (err ? reject(err) : resolve()));
      });
    },
    shutdown() {
      s.end();
    },
    close() {
      ended = true;
      s.destroy();
      wake();
    },
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
  };
}

export async function listen(U8: Uint8ArrayConstructor = Uint8Array): Promise<Listener & { server: net.Server }> {
  const pending: net.Socket[] = [];
  const waiting: { resolve(s: Socket): void; reject(e: Error): void }[] = [];
  let closed = false;
  const server = net.createServer((s) => {
    const w = waiting.shift();
    if (w) w.resolve(wrapSocket(s, U8));
    else pending.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    accept() {
      const s = pending.shift();
      if (s) return Promise.resolve(wrapSocket(s, U8));
      if (closed) return Promise.reject(new Error("listener closed"));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    close() {
      closed = true;
      server.close();
      for (const w of waiting.splice(0)) w.reject(new Error("listener closed"));
    },
  };
}

export function connect(host: string, port: number, U8: Uint8ArrayConstructor = Uint8Array): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(wrapSocket(s, U8));
    });
    s.once("error", reject);
  });
}

/** Sends raw bytes on a fresh connection and returns all it receives until the server closes (or `ms` pass). */
export function rawExchange(port: number, text: string | string[], ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let out = "";
    const timer = setTimeout(() => (s.destroy(), resolve(out)), ms);
    s.on("data", (b) => (out += b.toString("latin1")));
    s.on("close", () => (clearTimeout(timer), resolve(out)));
    s.on("error", (e) => (clearTimeout(timer), reject(e)));
    s.on("connect", async () => {
      for (const part of Array.isArray(text) ? text : [text]) {
        s.write(part);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  });
}
