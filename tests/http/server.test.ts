// The HTTP/1.1 server over real TCP (node:net behind the Socket interface), driven by curl, by
// Node's fetch and by raw sockets.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { Response, serve, serveConnection, type Request } from "../../runtime/js/prelude/http/index.ts";
import { listen, rawExchange } from "./net-socket.ts";

const run = promisify(execFile);
const errors: unknown[] = [];
let port = 0;
let close = () => {};
/** Requests served per connection, by the connection's remote port. */
const perConnection = new Map<number, number>();

async function handler(req: Request): Promise<Response> {
  const url = new URL(req.url);
  switch (url.pathname) {
    case "/throw": throw new Error("boom");
    case "/not-a-response": return "hello" as unknown as Response;
    case "/cookies": {
      const r = new Response("c");
      r.headers.append("set-cookie", "a=1");
      r.headers.append("set-cookie", "b=2");
      return r;
    }
    case "/big": return new Response(new Uint8Array(300_000).fill(97));
    case "/slow": {
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms"))));
      return new Response(`slow ${url.searchParams.get("id")}`);
    }
    case "/empty": return new Response(null, { status: 204 });
    case "/close": return new Response("bye", { headers: { connection: "close" } });
  }
  const body = new Uint8Array(await req.arrayBuffer());
  return Response.json({ method: req.method, url: req.url, headers: [...req.headers], length: body.length, text: body.length < 1000 ? new TextDecoder().decode(body) : "", sum: body.reduce((a, b) => (a + b) % 65521, 0) }, { headers: { "x-served-by": "zigu" } });
}

before(async () => {
  const listener = await listen();
  port = listener.port;
  close = () => listener.close();
  const opts = { hostname: "127.0.0.1", port, onError: (e: unknown) => errors.push(e), maxBodySize: 4 * 1024 * 1024 };
  // serve(), with the requests counted per connection.
  void serve({
    port,
    close: () => listener.close(),
    async accept() {
      const s = await listener.accept();
      const remote = s.remotePort!;
      perConnection.set(remote, 0);
      return s;
    },
  }, async (req) => {
    const r = await handler(req);
    const remote = Number(req.headers.get("x-remote-port"));
    if (remote) perConnection.set(remote, (perConnection.get(remote) ?? 0) + 1);
    return r;
  }, opts);
});
after(() => close());

/** A keep-alive client on one raw connection: requests in order, responses framed by Content-Length. */
class Client {
  readonly sock: net.Socket;
  #data = Buffer.alloc(0);
  #wait: (() => void) | null = null;
  #closed = false;
  readonly ready: Promise<void>;
  constructor() {
    this.sock = net.connect({ host: "127.0.0.1", port });
    this.ready = new Promise((r) => this.sock.once("connect", () => r()));
    this.sock.on("data", (b) => ((this.#data = Buffer.concat([this.#data, b])), this.#wake()));
    this.sock.on("close", () => ((this.#closed = true), this.#wake()));
    this.sock.on("error", () => {});
  }
  #wake() {
    const w = this.#wait;
    this.#wait = null;
    w?.();
  }
  async response(head = false): Promise<{ status: number; headers: Record<string, string>; body: string } | null> {
    for (;;) {
      const end = this.#data.indexOf("\r\n\r\n");
      if (end >= 0) {
        const lines = this.#data.subarray(0, end).toString("latin1").split("\r\n");
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
        const len = head ? 0 : Number(headers["content-length"] ?? 0);
        if (this.#data.length >= end + 4 + len) {
          const body = this.#data.subarray(end + 4, end + 4 + len).toString();
          this.#data = this.#data.subarray(end + 4 + len);
          return { status: Number(lines[0]!.split(" ")[1]), headers, body };
        }
      }
      if (this.#closed) return null;
      await new Promise<void>((r) => (this.#wait = r));
    }
  }
  get closed(): boolean {
    return this.#closed;
  }
}

test("curl: GET, HEAD, POST with a body, chunked upload, 100-continue, cookies", async () => {
  const base = `http://127.0.0.1:${port}`;
  const get = await run("curl", ["-s", "-i", `${base}/echo?x=1`]);
  assert.match(get.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(get.stdout, /\r\ncontent-type: application\/json\r\n/);
  assert.match(get.stdout, /\r\nx-served-by: zigu\r\n/);
  assert.doesNotMatch(get.stdout, /\r\ndate:/i);
  const json = JSON.parse(get.stdout.slice(get.stdout.indexOf("\r\n\r\n") + 4));
  assert.equal(json.method, "GET");
  assert.equal(json.url, `${base}/echo?x=1`);
  assert.ok(json.headers.some(([k, v]: string[]) => k === "user-agent" && v!.startsWith("curl/")));

  const head = await run("curl", ["-s", "-I", `${base}/big`]);
  assert.match(head.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head.stdout, /\r\ncontent-length: 300000\r\n/);

  const post = await run("curl", ["-s", "--data-binary", "hello=world", `${base}/echo`]);
  assert.deepEqual([JSON.parse(post.stdout).method, JSON.parse(post.stdout).text], ["POST", "hello=world"]);

  // 2 MiB: curl sends Expect: 100-continue and waits for it (a second unless answered).
  const dir = mkdtempSync(join(tmpdir(), "zigu-http-"));
  const file = join(dir, "body.bin");
  const bytes = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
  writeFileSync(file, bytes);
  const sum = bytes.reduce((a, b) => (a + b) % 65521, 0);
  const t0 = Date.now();
  const big = await run("curl", ["-s", "-v", "--data-binary", `@${file}`, `${base}/echo`]);
  assert.match(big.stderr, /Expect: 100-continue/);
  assert.match(big.stderr, /HTTP\/1\.1 100 Continue/);
  assert.ok(Date.now() - t0 < 900, "curl did not wait for 100 Continue");
  assert.deepEqual([JSON.parse(big.stdout).length, JSON.parse(big.stdout).sum], [bytes.length, sum]);

  const chunked = await run("curl", ["-s", "-H", "Transfer-Encoding: chunked", "--data-binary", `@${file}`, `${base}/echo`]);
  assert.deepEqual([JSON.parse(chunked.stdout).length, JSON.parse(chunked.stdout).sum], [bytes.length, sum]);

  const cookies = await run("curl", ["-s", "-i", `${base}/cookies`]);
  assert.match(cookies.stdout, /\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n/);

  // Two requests on one curl invocation reuse the connection.
  const two = await run("curl", ["-s", "-v", `${base}/echo`, `${base}/echo`]);
  assert.match(two.stderr, /Re-using existing connection|Reusing existing/);
});

test("Node's fetch: JSON, body, 500s reported through onError, 204, big body", async () => {
  const base = `http://127.0.0.1:${port}`;
  const r = await fetch(`${base}/echo`, { method: "PUT", body: JSON.stringify({ a: 1 }), headers: { "content-type": "application/json" } });
  assert.equal(r.status, 200);
  const j = await r.json() as { method: string; text: string; headers: string[][] };
  assert.equal(j.method, "PUT");
  assert.deepEqual(JSON.parse(j.text), { a: 1 });
  assert.ok(j.headers.some(([k, v]) => k === "content-type" && v === "application/json"));

  errors.length = 0;
  const t = await fetch(`${base}/throw`);
  assert.deepEqual([t.status, await t.text()], [500, "Internal Server Error\n"]);
  const n = await fetch(`${base}/not-a-response`);
  assert.equal(n.status, 500);
  await n.arrayBuffer();
  assert.equal(errors.length, 2);
  assert.equal((errors[0] as Error).message, "boom");
  assert.ok(errors[1] instanceof TypeError);

  const e = await fetch(`${base}/empty`);
  assert.deepEqual([e.status, await e.text()], [204, ""]);
  const big = await fetch(`${base}/big`);
  assert.equal((await big.arrayBuffer()).byteLength, 300_000);
});

test("raw: pipelined requests are answered in order", async () => {
  const out = await rawExchange(port, "GET /slow?ms=80&id=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /slow?ms=0&id=2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /slow?ms=10&id=4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  const statuses = out.match(/HTTP\/1\.1 \d+/g);
  assert.deepEqual(statuses, ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200"]);
  const i1 = out.indexOf("slow 1"), i2 = out.indexOf("slow 2"), i3 = out.indexOf('"text":"abc"'), i4 = out.indexOf("slow 4");
  assert.ok(i1 > 0 && i1 < i2 && i2 < i3 && i3 < i4, out);
  assert.match(out, /connection: close\r\n\r\nslow 4$/);
});

test("raw: chunked request body split across writes, with trailers", async () => {
  const out = await rawExchange(port, ["POST /echo HTTP/1.1\r\nHost: h:1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhel", "lo\r\n6;ext=1\r\n wor", "ld\r\n0\r\nX-Trailer: 1\r\n\r\n"]);
  assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
  const j = JSON.parse(out.slice(out.indexOf("\r\n\r\n") + 4));
  assert.deepEqual([j.text, j.url], ["hello world", "http://h:1/echo"]);
});

test("raw: malformed requests get 400 and the connection closes", async () => {
  for (const bad of [
    "GARBAGE\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    "GET nope HTTP/1.1\r\nHost: a\r\n\r\n",
  ]) {
    const t0 = Date.now();
    const out = await rawExchange(port, bad, 5000);
    assert.match(out, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(bad));
    assert.match(out, /connection: close\r\n/);
    assert.ok(Date.now() - t0 < 4000, "the server closes the connection");
  }
  // A good request, then a bad one on the same connection: the first is answered, then 400.
  const out = await rawExchange(port, "GET /slow?ms=0&id=ok HTTP/1.1\r\nHost: a\r\n\r\nBAD\r\n\r\n");
  assert.match(out, /^HTTP\/1\.1 200 OK\r\n[^]*slow okHTTP\/1\.1 400 Bad Request/);
});

test("raw: 413 over the body limit (Content-Length, chunked)", async () => {
  const a = await rawExchange(port, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n");
  assert.match(a, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
  const chunk = `100000\r\n${"x".repeat(0x100000)}\r\n`;
  const b = await rawExchange(port, ["POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", chunk, chunk, chunk, chunk, chunk]);
  assert.match(b, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
});

test("raw: keep-alive reuse, HTTP/1.0, HEAD, Connection: close from the handler", { timeout: 5000 }, async () => {
  const c = new Client();
  await c.ready;
  c.sock.write("GET /slow?ms=0&id=a HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.deepEqual((await c.response())?.body, "slow a");
  c.sock.write("HEAD /big HTTP/1.1\r\nHost: a\r\n\r\n");
  // HEAD has no body: the next response starts right after the head.
  const head = await c.response(true);
  assert.equal(head?.headers["content-length"], "300000");
  c.sock.write("GET /slow?ms=0&id=b HTTP/1.1\r\nHost: a\r\n\r\n");
  const b = await c.response();
  assert.equal(b?.body, "slow b");
  assert.equal(c.closed, false);
  c.sock.write("GET /close HTTP/1.1\r\nHost: a\r\n\r\n");
  const bye = await c.response();
  assert.deepEqual([bye?.body, bye?.headers.connection], ["bye", "close"]);
  assert.equal(await c.response(), null);

  const h10 = await rawExchange(port, "GET /echo HTTP/1.0\r\n\r\n");
  assert.match(h10, /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n/);
  assert.equal(JSON.parse(h10.slice(h10.indexOf("\r\n\r\n") + 4)).url, `http://127.0.0.1:${port}/echo`);
  const ka10 = new Client();
  await ka10.ready;
  ka10.sock.write("GET /slow?ms=0&id=x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const r10 = await ka10.response();
  assert.deepEqual([r10?.body, r10?.headers.connection], ["slow x", "keep-alive"]);
  ka10.sock.write("GET /slow?ms=0&id=y HTTP/1.0\r\n\r\n");
  assert.equal((await ka10.response())?.body, "slow y");
  assert.equal(await ka10.response(), null);
});

test("100 concurrent connections, 5 keep-alive requests each", async () => {
  const clients = Array.from({ length: 100 }, () => new Client());
  await Promise.all(clients.map((c) => c.ready));
  const locals = clients.map((c) => c.sock.localPort!);
  await Promise.all(clients.map(async (c, i) => {
    const local = locals[i]!;
    for (let k = 0; k < 5; k++) {
      const body = `client ${i} request ${k}`;
      c.sock.write(`POST /echo?i=${i}&k=${k} HTTP/1.1\r\nHost: a\r\nX-Remote-Port: ${local}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const r = await c.response();
      assert.equal(r?.status, 200);
      const j = JSON.parse(r.body);
      assert.deepEqual([j.url, j.text], [`http://a/echo?i=${i}&k=${k}`, body]);
    }
    c.sock.end();
  }));
  // Each client's 5 requests went over its one socket, which the server accepted once and served 5 times.
  for (const local of locals) assert.equal(perConnection.get(local), 5);
  assert.equal(new Set(locals).size, 100);
});

test("serveConnection resolves when the client goes away mid-request", async () => {
  const listener = await listen();
  const done = (async () => serveConnection(await listener.accept(), () => new Response("x"), { hostname: "h", port: 1 }))();
  const s = net.connect({ host: "127.0.0.1", port: listener.port });
  await new Promise((r) => s.once("connect", r));
  s.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  await new Promise((r) => setTimeout(r, 50));
  s.destroy();
  await done;
  listener.close();
});
