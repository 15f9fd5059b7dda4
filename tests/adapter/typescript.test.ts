// Real Promise and timer programs through the TypeScript runtime (adapter/typescript/runtime.ts)
// on libukernel_abi.so, as `ukernel adapter` runs them.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../../src/proc.ts";
import { buildKernel, repoRoot } from "../../src/zig.ts";

let lib = "";
before(async () => {
  const b = await buildKernel("Debug");
  lib = join(b.prefix, "lib", "libukernel_abi.so");
});

async function workload(source: string, caps = ["log", "time"], netEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "zigu-ts-"));
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "ukernel.toml"), `[workload]\nname = "t"\nentry = "src/main.ts"\nruntime = "typescript"\n\n[capabilities]\nallow = [${caps.map((c) => `"${c}"`).join(", ")}]\n`);
  writeFileSync(join(dir, "src", "main.ts"), source);
  const env: NodeJS.ProcessEnv = { ...process.env, UKERNEL_ABI_LIB: lib, ...netEnv };
  delete env.UKERNEL_CAPS;
  return run([process.execPath, "--import", "tsx", join(repoRoot, "adapter", "typescript", "runtime.ts"), "--project", dir], { cwd: repoRoot, env, timeoutMs: 60_000 });
}

const lastLine = (s: string) => s.trim().split("\n").at(-1);

test("setTimeout fires in deadline order, FIFO for equal delays, never early; the loop clock is the ABI's", async () => {
  const r = await workload(`
    export default async function main() {
      const t0 = performance.now();
      const fired: [string, number][] = [];
      const mark = (n: string) => fired.push([n, performance.now() - t0]);
      setTimeout(mark, 30, "c"); setTimeout(mark, 10, "a"); setTimeout(mark, 20, "b1"); setTimeout(mark, 20, "b2");
      await new Promise((r) => setTimeout(r, 40));
      console.log(JSON.stringify(fired.map(([n]) => n)), fired.every(([n, at]) => at >= { a: 10, b1: 20, b2: 20, c: 30 }[n]! - 0.5));
      return 0;
    }`);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(lastLine(r.stdout), '["a","b1","b2","c"] true');
});

test("setInterval repeats until cleared; clearTimeout cancels; Promise.all and chained awaits", async () => {
  const r = await workload(`
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    export default async function main() {
      let ticks = 0;
      const id = setInterval(() => { if (++ticks === 3) clearInterval(id); }, 5);
      const cancelled = setTimeout(() => console.log("must not run"), 5);
      clearTimeout(cancelled);
      const all = await Promise.all([sleep(10).then(() => "x"), sleep(5).then(() => "y"), (async () => { await sleep(1); await sleep(1); return "z"; })()]);
      await sleep(30);
      console.log(ticks, JSON.stringify(all));
      return 0;
    }`);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(lastLine(r.stdout), '3 ["x","y","z"]');
});

test("main's number is the exit status; a rejection is status 1 with its stack", async () => {
  assert.equal((await workload("export default async function main() { return 9; }")).exitCode, 9);
  const r = await workload('export async function main() { await new Promise((r) => setTimeout(r, 1)); throw new Error("boom"); }');
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /Error: boom/);
});

test("without the log capability console.log is refused by the ABI (CapabilityError)", async () => {
  const r = await workload('export default async function main() { console.log("not allowed"); return 0; }', ["time"]);
  assert.equal(r.exitCode, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /runtime: capability refused: console.log needs the "log" capability, which is not active: ukernel.toml must allow it/);
});

test("the zigu module is the guest's: active capabilities, drop for good, a refusal is a CapabilityError naming the capability and its ukernel.toml key", async () => {
  const r = await workload(`
    import { capabilities, CapabilityError } from "zigu";
    export default async function main() {
      console.log(capabilities.active(), capabilities.has("random"), { nested: [1, "two"] });
      capabilities.drop("log");
      try {
        console.log("never");
      } catch (e) {
        if (e instanceof CapabilityError && e.capability === "log" && e.key === "capabilities.allow") return 7;
      }
      return 1;
    }
  `, ["log", "time", "random"]);
  assert.equal(r.exitCode, 7, r.stdout + r.stderr);
  assert.equal(r.stdout, "[ 'log', 'time', 'random' ] true { nested: [ 1, 'two' ] }\n");
  assert.doesNotMatch(r.stdout, /never/);
});

test("without the time capability the runtime says why; a promise nothing can settle fails instead of hanging", async () => {
  const noTime = await workload("export default async function main() { return 0; }", ["log"]);
  assert.equal(noTime.exitCode, 2);
  assert.match(noTime.stderr, /timers need the time capability/);
  const stuck = await workload("export default async function main() { await new Promise(() => {}); return 0; }");
  assert.equal(stuck.exitCode, 1);
  assert.match(stuck.stderr, /would wait for ever/);
});

test("export default { fetch } is served on the host through the ABI's sockets; the policy and fetch() work as in the guest", async () => {
  const http = await import("node:http");
  const net = await import("node:net");
  const free = () => new Promise<number>((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
  const port = await free();
  const upstream = http.createServer((req, res) => res.end(`upstream ${req.url}`));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const upPort = (upstream.address() as { port: number }).port;
  const source = `
    import { net, NetworkPolicyError } from "zigu";
    let stop = false;
    export default {
      port: ${port},
      async fetch(req: Request) {
        const url = new URL(req.url);
        if (url.pathname === "/policy") {
          try { net.listen(${port === 65535 ? 1 : port + 1}); return new Response("listened?!"); } catch (e) { return new Response(String(e instanceof NetworkPolicyError) + " " + (e as Error).message); }
        }
        if (url.pathname === "/proxy") return new Response(await (await fetch("http://127.0.0.1:${upPort}/x")).text());
        if (url.pathname === "/stop") { setTimeout(() => process.exit(7), 50); return new Response("bye"); }
        return Response.json({ path: url.pathname, method: req.method });
      },
    };`;
  const pending = workload(source, ["log", "time", "net"], { UKERNEL_NET_LISTEN: String(port), UKERNEL_NET_CONNECT: `127.0.0.1:${upPort}` });
  const get = async (path: string) => {
    for (let i = 0; ; i++) {
      const r = await run(["curl", "-sS", "--max-time", "5", `http://127.0.0.1:${port}${path}`], { timeoutMs: 10_000 });
      if (r.exitCode === 0) return r.stdout;
      if (i > 100) throw new Error(r.stderr);
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  try {
    assert.deepEqual(JSON.parse(await get("/a")), { path: "/a", method: "GET" });
    assert.match(await get("/policy"), /^true listen: port \d+ is outside the network policy: ukernel\.toml's \[network\] listen list must name it$/);
    assert.equal(await get("/proxy"), "upstream /x");
    assert.equal(await get("/stop"), "bye");
    const r = await pending;
    assert.equal(r.exitCode, 7, r.stderr);
    assert.match(r.stdout, new RegExp(`Listening on http://0\\.0\\.0\\.0:${port}/`));
  } finally {
    upstream.close();
  }
});
