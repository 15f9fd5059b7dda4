// The guest's fetch() (over node:net behind the Socket interface) against a node:http server.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, test } from "node:test";
import { createFetch, Request } from "../../runtime/js/prelude/http/index.ts";
import { connect } from "./net-socket.ts";

const fetch = createFetch((host, port) => connect(host, port));
let base = "";
let server: http.Server;
let raw: net.Server;
let rawPort = 0;

before(async () => {
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const url = new URL(req.url!, "http://x");
    switch (url.pathname) {
      case "/json":
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, headers: req.headers, body, url: req.url }));
        return;
      case "/chunked":
        res.write("part one, ");
        setTimeout(() => res.end("part two"), 20);
        return;
      case "/redirect": {
        const n = Number(url.searchParams.get("n"));
        res.statusCode = Number(url.searchParams.get("status") ?? 302);
        res.setHeader("location", n > 0 ? `/redirect?n=${n - 1}&status=${res.statusCode}` : "/json");
        res.end();
        return;
      }
      case "/to-https":
        res.writeHead(301, { location: "https://example.com/" }).end();
        return;
      case "/cookies":
        res.setHeader("set-cookie", ["a=1", "b=2"]);
        res.end();
        return;
    }
    res.statusCode = 404;
    res.statusMessage = "Nowhere";
    res.end("not here");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  // A raw server: a body read to the close (no Content-Length, no chunks), or a 100 Continue first.
  raw = net.createServer((s) => {
    s.once("data", (d) => {
      if (d.toString().startsWith("GET /interim")) s.end("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      else if (d.toString().startsWith("GET /truncated")) s.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
      else if (d.toString().startsWith("GET /bad-length")) s.end("HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\nabc");
      else {
        s.write("HTTP/1.0 200 OK\r\nx-kind: to-close\r\n\r\nread ");
        setTimeout(() => s.end("to the end"), 20);
      }
    });
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  rawPort = (raw.address() as net.AddressInfo).port;
});
after(() => {
  server.close();
  raw.close();
});

test("JSON, request bodies and headers", async () => {
  const r = await fetch(`${base}/json?q=1`);
  assert.deepEqual([r.status, r.ok, r.statusText, r.url, r.redirected], [200, true, "OK", `${base}/json?q=1`, false]);
  assert.equal(r.headers.get("content-type"), "application/json");
  const j = await r.json() as { method: string; headers: Record<string, string>; body: string; url: string };
  assert.deepEqual([j.method, j.url, j.headers.host, j.headers.connection], ["GET", "/json?q=1", base.slice(7), "close"]);

  const p = await (await fetch(`${base}/json`, { method: "POST", body: JSON.stringify({ a: 1 }), headers: { "x-custom": "yes" } })).json() as typeof j;
  assert.deepEqual([p.method, p.body, p.headers["content-type"], p.headers["content-length"], p.headers["x-custom"]], ["POST", '{"a":1}', "text/plain;charset=UTF-8", "7", "yes"]);
  const u = await (await fetch(new Request(`${base}/json`, { method: "PUT", body: new URLSearchParams({ x: "a b" }) }))).json() as typeof j;
  assert.deepEqual([u.method, u.body, u.headers["content-type"]], ["PUT", "x=a+b", "application/x-www-form-urlencoded;charset=UTF-8"]);
  const b = await (await fetch(new URL(`${base}/json`), { method: "PATCH", body: new Uint8Array([104, 105]) })).json() as typeof j;
  assert.deepEqual([b.method, b.body], ["PATCH", "hi"]);
  const e = await (await fetch(`${base}/json`, { method: "POST" })).json() as typeof j;
  assert.equal(e.headers["content-length"], "0");
  const h = await fetch(`${base}/json`, { method: "HEAD" });
  assert.deepEqual([h.status, await h.text()], [200, ""]);
});

test("chunked, read-to-close and 100-continue responses; a truncated body fails", async () => {
  assert.equal(await (await fetch(`${base}/chunked`)).text(), "part one, part two");
  const r = await fetch(`http://127.0.0.1:${rawPort}/close`);
  assert.deepEqual([r.status, r.headers.get("x-kind"), await r.text()], [200, "to-close", "read to the end"]);
  assert.equal(await (await fetch(`http://127.0.0.1:${rawPort}/interim`)).text(), "ok");
  await assert.rejects(fetch(`http://127.0.0.1:${rawPort}/truncated`), (e: Error) => e instanceof TypeError && e.message === "fetch failed");
  await assert.rejects(fetch(`http://127.0.0.1:${rawPort}/bad-length`), (e: Error) => e instanceof TypeError && e.message === "fetch failed");
});

test("404, Set-Cookie, immutable response headers", async () => {
  const r = await fetch(`${base}/missing`);
  assert.deepEqual([r.status, r.ok, r.statusText, await r.text()], [404, false, "Nowhere", "not here"]);
  const c = await fetch(`${base}/cookies`);
  assert.deepEqual(c.headers.getSetCookie(), ["a=1", "b=2"]);
  assert.throws(() => c.headers.set("x", "1"), TypeError);
});

test("redirects: follow (301/302/303/307/308), manual, error, the limit of 20", async () => {
  const r = await fetch(`${base}/redirect?n=3`);
  assert.deepEqual([r.status, r.redirected, r.url], [200, true, `${base}/json`]);
  const post = await fetch(`${base}/redirect?n=1&status=303`, { method: "POST", body: "x" });
  assert.equal((await post.json() as { method: string }).method, "GET");
  const kept = await fetch(`${base}/redirect?n=1&status=307`, { method: "POST", body: "kept" });
  const k = await kept.json() as { method: string; body: string };
  assert.deepEqual([k.method, k.body], ["POST", "kept"]);
  const m = await fetch(`${base}/redirect?n=0`, { redirect: "manual" });
  assert.deepEqual([m.status, m.headers.get("location"), m.redirected], [302, "/json", false]);
  await assert.rejects(fetch(`${base}/redirect?n=0`, { redirect: "error" }), (e: Error) => e instanceof TypeError && e.message === "fetch failed");
  assert.equal((await fetch(`${base}/redirect?n=19`)).status, 200); // 20 redirects: allowed
  await assert.rejects(fetch(`${base}/redirect?n=20`), (e: Error & { cause?: Error }) => e instanceof TypeError && /redirect count/.test(e.cause!.message));
});

test("https and other schemes: TypeError; connection refused: fetch failed; abort", async () => {
  const https = "fetch: https is not supported inside Zigu yet: only http:// URLs (TLS is not built)";
  await assert.rejects(fetch("https://example.com/"), { name: "TypeError", message: https });
  await assert.rejects(fetch(`${base}/to-https`), { name: "TypeError", message: https });
  await assert.rejects(fetch("ftp://example.com/"), TypeError);
  await assert.rejects(fetch("/relative"), TypeError);
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as net.AddressInfo).port;
  closed.close();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`), (e: Error & { cause?: { code?: string } }) => e instanceof TypeError && e.message === "fetch failed" && e.cause?.code === "ECONNREFUSED");

  await assert.rejects(fetch(`${base}/json`, { signal: AbortSignal.abort() }), { name: "AbortError" });
  const c = new AbortController();
  const pending = fetch(`${base}/chunked`, { signal: c.signal });
  setTimeout(() => c.abort(), 5);
  await assert.rejects(pending, { name: "AbortError" });
});
