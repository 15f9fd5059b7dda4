// The http layer bundled by esbuild as src/runtime-js.ts bundles the prelude (ES module, platform
// "neutral"), then run in a fresh vm context that has the prelude's Web APIs but no Buffer, no
// require, no process: it serves real TCP (curl, Node's fetch) and its fetch() reaches a node:http server.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import type net from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import vm from "node:vm";
import * as esbuild from "esbuild";
import { connect, listen } from "./net-socket.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const options: esbuild.BuildOptions = {
  absWorkingDir: root, bundle: true, format: "esm", platform: "neutral", target: "es2023", write: false, logLevel: "silent",
  mainFields: ["module", "main"], minifyWhitespace: true, minifySyntax: true, legalComments: "none", keepNames: true,
};

let upstream: http.Server;
let listener: Awaited<ReturnType<typeof listen>>;

before(async () => {
  upstream = http.createServer((req, res) => res.end(JSON.stringify({ upstream: true, method: req.method, url: req.url })));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
});
after(() => {
  upstream.close();
  listener?.close();
});

test("the bundle needs neither require nor Buffer, and its size", async () => {
  const lib = await esbuild.build({ ...options, entryPoints: [join(root, "runtime/js/prelude/http/index.ts")] });
  const text = lib.outputFiles![0]!.text;
  assert.doesNotMatch(text, /\brequire\s*\(/);
  assert.doesNotMatch(text, /\bBuffer\b/);
  console.log(`# runtime/js/prelude/http bundled alone: ${text.length} bytes`);
});

test("served and fetched from a vm context without Buffer or require", async () => {
  const r = await esbuild.build({ ...options, entryPoints: [join(root, "tests/http/vm-entry.ts")] });
  const bundle = r.outputFiles![0]!.text;
  assert.doesNotMatch(bundle, /^\s*(import|export)\b/m, "the entry's bundle must be a plain script");

  const ctx = vm.createContext({
    TextEncoder, TextDecoder, URL, URLSearchParams, AbortController, AbortSignal, setTimeout, clearTimeout, queueMicrotask, console,
  });
  const U8 = vm.runInContext("Uint8Array", ctx) as Uint8ArrayConstructor;
  listener = await listen(U8);
  ctx.__host = { connect: (host: string, port: number) => connect(host, port, U8), listener, upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` };
  assert.deepEqual(JSON.parse(vm.runInContext("JSON.stringify([typeof Buffer, typeof require, typeof process, typeof module])", ctx)), ["undefined", "undefined", "undefined", "undefined"]);
  vm.runInContext(bundle, ctx, { filename: "http-bundle.js" });
  assert.deepEqual(JSON.parse(vm.runInContext("JSON.stringify(['Headers','Request','Response','fetch'].map((n) => [typeof globalThis[n], Object.getOwnPropertyDescriptor(globalThis, n).enumerable]))", ctx)), [["function", false], ["function", false], ["function", false], ["function", false]]);
  vm.runInContext(`__zigu_http.serve(__host.listener, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/proxy") {
      const up = await fetch(__host.upstream + "/from-guest", { method: "POST", body: "x" });
      return new Response(await up.text(), { headers: { "x-via": "guest fetch", "content-type": up.headers.get("content-type") ?? "none" } });
    }
    return Response.json({ method: req.method, url: req.url, body: await req.text(), buffer: typeof Buffer });
  }, { hostname: "127.0.0.1", port: __host.listener.port });`, ctx);

  const base = `http://127.0.0.1:${listener.port}`;
  const get = await run("curl", ["-s", `${base}/hello?x=1`]);
  assert.deepEqual(JSON.parse(get.stdout), { method: "GET", url: `${base}/hello?x=1`, body: "", buffer: "undefined" });
  const chunked = await run("curl", ["-s", "-H", "Transfer-Encoding: chunked", "--data-binary", "héllo chunks", `${base}/up`]);
  assert.equal(JSON.parse(chunked.stdout).body, "héllo chunks");
  const proxied = await fetch(`${base}/proxy`);
  assert.equal(proxied.headers.get("x-via"), "guest fetch");
  assert.deepEqual(await proxied.json(), { upstream: true, method: "POST", url: "/from-guest" });
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${base}/n${i}`, { method: "PUT", body: `b${i}` }).then((x) => x.json())));
  assert.deepEqual(many.map((m) => (m as { body: string }).body), Array.from({ length: 20 }, (_, i) => `b${i}`));
});
