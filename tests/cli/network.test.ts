// The network end to end, through the built `ukernel` CLI in temporary copies of the examples:
// the TypeScript JSON service (examples/http-json) answers curl from the host, keeps connections
// alive and says 404; the Zig echo server (examples/echo) answers many concurrent connections
// byte for byte; the run record keeps the kernel's frame counters. Under KVM and TCG.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { run } from "../../src/proc.ts";
import { repoRoot } from "../../src/zig.ts";
import { accelerators } from "../boot/harness.ts";
import { firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { kvmUsable } from "../../src/vmm/qemu.ts";

const cli = join(repoRoot, "bin", "ukernel.js");

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function copyExample(name: string, accel: string, edit: (toml: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), `ukernel-${name}-`));
  cpSync(join(repoRoot, "examples", name), dir, { recursive: true, filter: (src) => !/\/(dist|\.ukernel)(\/|$)/.test(src) });
  const toml = join(dir, "ukernel.toml");
  writeFileSync(toml, edit(readFileSync(toml, "utf8")).replace("[vm]\n", `[vm]\naccel = "${accel}"\n`));
  return dir;
}

function start(dir: string): { child: ChildProcess; output: () => string; done: Promise<number | null> } {
  let out = "";
  const child = spawn("node", [cli, "run"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, done };
}

/** curl, retried until the service answers (the VM is booting) or the time is up. */
async function curl(args: string[], untilMs: number): Promise<string> {
  for (;;) {
    const r = await run(["curl", "-sS", "--max-time", "10", ...args], { timeoutMs: 20_000 });
    if (r.exitCode === 0) return r.stdout;
    if (Date.now() > untilMs) throw new Error(`curl ${args.join(" ")}: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

/**
 * `conns` connections open at once, each echoing `msgs` lines. They are opened one after another
 * (QEMU's user network accepts host connections through a listen backlog of 1: a burst of
 * simultaneous connects waits on the host's SYN retries, seconds apart, whatever the guest does),
 * then all of them send and read at the same time.
 */
async function echoClients(port: number, conns: number, msgs: number): Promise<string[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < conns; i++) {
    const s = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      s.once("connect", resolve);
      s.once("error", reject);
    });
    sockets.push(s);
  }
  return Promise.all(
    sockets.map(
      (s, id) =>
        new Promise<string>((resolve) => {
          let got = "";
          let want = "";
          for (let i = 0; i < msgs; i++) want += `connection ${id} message ${i}\n`;
          s.on("data", (d) => {
            got += d;
            if (got.length >= want.length) s.end();
          });
          s.on("close", () => resolve(got === want ? "" : `connection ${id}: ${JSON.stringify(got.slice(0, 60))}`));
          s.on("error", (e) => resolve(`connection ${id}: ${e.message}`));
          s.write(want);
        }),
    ),
  );
}

function runRecord(dir: string): { exitCode: number; network?: { framesOut: number; framesIn: number; droppedOut: number; droppedIn: number } } {
  const runs = join(dir, ".ukernel", "runs");
  const last = readdirSync(runs).sort().at(-1)!;
  return JSON.parse(readFileSync(join(runs, last, "result.json"), "utf8"));
}

for (const accel of accelerators()) {
  describe(`the network through ukernel run, QEMU ${accel.toUpperCase()}`, () => {
    test("the TypeScript JSON service answers curl: GET, POST, 404, keep-alive; the run record keeps the counters", async () => {
      const port = await freePort();
      const dir = copyExample("http-json", accel, (t) => t.replace('forward = ["8080:80"]', `forward = ["${port}:80"]`));
      const vm = start(dir);
      try {
        const until = Date.now() + 240_000; // the first build of the runtime takes minutes
        const hello = await curl([`http://127.0.0.1:${port}/hello?name=zigu`], until);
        assert.deepEqual(JSON.parse(hello), { message: "hello, zigu", hits: 1, runtime: "zigu" }, vm.output());
        const echo = await curl(["-X", "POST", "-H", "content-type: application/json", "--data", '{"n":[1,2,3]}', `http://127.0.0.1:${port}/echo`], until);
        assert.deepEqual(JSON.parse(echo), { received: { n: [1, 2, 3] }, hits: 2 });
        // Two requests on one connection (curl says so when it reuses it), then a 404.
        const two = await run(["curl", "-sS", "-v", "--max-time", "10", `http://127.0.0.1:${port}/hello`, `http://127.0.0.1:${port}/nope`], { timeoutMs: 20_000 });
        assert.match(two.stderr, /Re-using existing connection/, two.stderr);
        assert.match(two.stdout, /"hits":3/);
        assert.match(two.stdout, /\{"error":"not found","path":"\/nope"\}/);
        // A load generator on loopback (ab, from Debian), bounded: every request answered, none failed.
        // Four keep-alive connections (a burst of more waits on QEMU's user-network accept
        // backlog of 1: see echoClients), with ab's own timeout above a loaded TCG guest's worst.
        const load = await run(["ab", "-q", "-k", "-s", "120", "-c", "4", "-n", "300", `http://127.0.0.1:${port}/hello?name=ab`], { timeoutMs: 300_000 });
        assert.equal(load.exitCode, 0, load.stderr + load.stdout);
        assert.match(load.stdout, /^Complete requests:\s+300$/m, load.stdout);
        // ab counts a body of another length as "failed" (the hit counter grows a digit): only
        // connection, receive and exception failures are errors.
        assert.match(load.stdout, /\(Connect: 0, Receive: 0, Length: \d+, Exceptions: 0\)|^Failed requests:\s+0$/m, load.stdout);
        assert.doesNotMatch(load.stdout, /Non-2xx responses/, load.stdout);
        assert.match(vm.output(), new RegExp(`network: http://127\\.0\\.0\\.1:${port} -> guest :80`));
        assert.match(vm.output(), /Listening on http:\/\/0\.0\.0\.0:80\//);
        const stop = await run(["curl", "-sS", "--max-time", "10", `http://127.0.0.1:${port}/stop`], { timeoutMs: 20_000 });
        assert.equal(stop.stdout, "bye\n", stop.stderr + vm.output());
        assert.equal(await vm.done, 0, vm.output());
        const record = runRecord(dir);
        assert.equal(record.exitCode, 0);
        assert.ok(record.network && record.network.framesIn > 0 && record.network.framesOut > 0, JSON.stringify(record));
        assert.equal(record.network.droppedOut, 0, "the library never sends outside the policy");
      } finally {
        vm.child.kill("SIGKILL");
      }
    });

    test("the Zig echo server answers 40 concurrent connections byte for byte, then stops when asked", async () => {
      const port = await freePort();
      const dir = copyExample("echo", accel, (t) => t.replace('forward = ["7007:7"]', `forward = ["${port}:7"]`));
      const vm = start(dir);
      try {
        const until = Date.now() + 240_000;
        while (!/echo: listening on port 7/.test(vm.output())) {
          if (Date.now() > until) throw new Error(`the echo server never listened:\n${vm.output()}`);
          await new Promise((res) => setTimeout(res, 200));
        }
        assert.deepEqual(await echoClients(port, 1, 1), [""], vm.output());
        const failures = (await echoClients(port, 40, 5)).filter(Boolean);
        assert.deepEqual(failures, [], vm.output());
        const s = net.connect(port, "127.0.0.1", () => s.write("shutdown\n"));
        s.on("error", () => {});
        assert.equal(await vm.done, 0, vm.output());
        assert.match(vm.output(), /echo: shutdown after \d+ connections/);
      } finally {
        vm.child.kill("SIGKILL");
      }
    });
  });
}

describe("the network policy and fetch() inside the microVM (TypeScript)", () => {
  const accel = accelerators().at(-1)!;
  test("connect and listen outside [network] fail at once with NetworkPolicyError; fetch reaches the host; https says it is not built", async () => {
    const http = await import("node:http");
    const server = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ path: req.url, method: req.method }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const hostPort = (server.address() as net.AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), "ukernel-netpolicy-"));
    writeFileSync(join(dir, "ukernel.toml"), `[workload]\nname = "netpolicy"\nentry = "main.ts"\nruntime = "typescript"\n\n[vm]\naccel = "${accel}"\ntimeout_s = 120\n\n[capabilities]\nallow = ["log", "time", "net"]\n\n[network]\nlisten = [8080]\nconnect = ["10.0.2.2:${hostPort}"]\n`);
    writeFileSync(join(dir, "main.ts"), `
import { net, NetworkPolicyError } from "zigu";
const show = (e: unknown) => e instanceof Error ? \`\${e.name}: \${e.message}\` : String(e);
try { await net.connect("1.2.3.4", 80); console.log("connect: allowed?!"); } catch (e) { console.log("connect:", e instanceof NetworkPolicyError, show(e)); }
try { net.listen(81); console.log("listen: allowed?!"); } catch (e) { console.log("listen:", e instanceof NetworkPolicyError, show(e)); }
try { await fetch("https://10.0.2.2/"); } catch (e) { console.log("https:", show(e)); }
const r = await fetch("http://10.0.2.2:${hostPort}/from-the-guest?x=1", { method: "POST", body: "hi" });
console.log("fetch:", r.status, r.headers.get("content-type"), JSON.stringify(await r.json()));
const l = net.listen(8080);
l.close();
console.log("listen 8080: ok");
`);
    try {
      const r = await run(["node", cli, "run"], { cwd: dir, timeoutMs: 10 * 60_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.exitCode, 0, out);
      assert.match(out, /^connect: true NetworkPolicyError: connect: 1\.2\.3\.4:80 is outside the network policy: ukernel\.toml's \[network\] connect list must name it$/m, out);
      assert.match(out, /^listen: true NetworkPolicyError: listen: port 81 is outside the network policy: ukernel\.toml's \[network\] listen list must name it$/m, out);
      assert.match(out, /^https: TypeError: fetch: https is not supported inside Zigu yet/m, out);
      assert.match(out, /^fetch: 200 application\/json \{"path":"\/from-the-guest\?x=1","method":"POST"\}$/m, out);
      assert.match(out, /^listen 8080: ok$/m, out);
    } finally {
      server.close();
    }
  });
});

/**
 * A DNS resolver on the host's 127.0.0.1:53 (QEMU's user network takes the guest's 10.0.2.2 to
 * the host's loopback): web.test and other.test are 10.0.2.2, many.test has six addresses, each
 * answer to web.test follows a malformed one with the same id; anything else is NXDOMAIN.
 * Null when port 53 cannot be bound (not root, or a resolver runs there).
 */
async function dnsServer(): Promise<{ close(): void; asked: string[] } | null> {
  const dgram = await import("node:dgram");
  const sock = dgram.createSocket("udp4");
  const asked: string[] = [];
  const bound = await new Promise<boolean>((resolve) => {
    sock.once("error", () => resolve(false));
    sock.bind(53, "127.0.0.1", () => resolve(true));
  });
  if (!bound) return null;
  sock.on("message", (msg, from) => {
    let i = 12;
    const labels: string[] = [];
    while (i < msg.length && msg[i]! > 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString("latin1"));
      i += 1 + msg[i]!;
    }
    const name = labels.join(".");
    asked.push(name);
    const end = i + 5;
    const table: Record<string, number[][]> = { "web.test": [[10, 0, 2, 2]], "other.test": [[10, 0, 2, 2]], "many.test": [1, 2, 3, 4, 5, 6].map((n) => [192, 0, 2, n]) };
    const addrs = table[name] ?? [];
    const head = Buffer.from(msg.subarray(0, end));
    head[2] = 0x81;
    head[3] = addrs.length ? 0x80 : 0x83;
    head.writeUInt16BE(addrs.length, 6);
    head.fill(0, 8, 12);
    const answer = Buffer.concat([head, ...addrs.map((a) => Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...a]))]);
    if (name === "web.test") sock.send(Buffer.concat([head.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0xc0, 0x0e, 0xff])]), from.port, from.address);
    sock.send(answer, from.port, from.address);
  });
  return { close: () => sock.close(), asked };
}

describe("DNS inside the microVM (TypeScript): the resolver [network] dns names", () => {
  const accel = accelerators().at(-1)!;
  test("names resolve, fetch() and connect take names, a name that does not resolve is NameNotFoundError, a resolved address outside the policy is NetworkPolicyError", async (t) => {
    const dns = await dnsServer();
    if (!dns) return t.skip("port 53 on 127.0.0.1 cannot be bound here (not root, or a resolver runs there)");
    const http = await import("node:http");
    const server = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url, host: req.headers.host })));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const hostPort = (server.address() as net.AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), "ukernel-dns-"));
    writeFileSync(join(dir, "ukernel.toml"), `[workload]\nname = "dns"\nentry = "main.ts"\nruntime = "typescript"\n\n[vm]\naccel = "${accel}"\ntimeout_s = 120\n\n[capabilities]\nallow = ["log", "time", "net"]\n\n[network]\ndns = "10.0.2.2"\nconnect = ["10.0.2.2:${hostPort}"]\n`);
    writeFileSync(join(dir, "main.ts"), `
import { net, NameNotFoundError, NetworkPolicyError } from "zigu";
const show = (e: unknown) => e instanceof Error ? \`\${e.name}: \${e.message}\` : String(e);
console.log("resolve:", JSON.stringify(await net.resolve("web.test")));
console.log("literal:", JSON.stringify(await net.resolve("10.0.2.2")));
console.log("many:", JSON.stringify(await net.resolve("many.test")));
const r = await fetch("http://web.test:${hostPort}/by-name");
console.log("fetch:", r.status, JSON.stringify(await r.json()));
try { await net.resolve("nx.test"); console.log("nx: resolved?!"); } catch (e) { console.log("nx:", e instanceof NameNotFoundError, show(e)); }
try { await net.connect("other.test", 80); console.log("other: connected?!"); } catch (e) { console.log("other:", e instanceof NetworkPolicyError, show(e)); }
try { await net.resolve("not a name"); } catch (e) { console.log("bad:", show(e)); }
try { await fetch("http://nx.test/"); } catch (e) { console.log("fetch nx:", show(e), show((e as Error).cause)); }
`);
    try {
      const r = await run(["node", cli, "run"], { cwd: dir, timeoutMs: 10 * 60_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.exitCode, 0, out);
      assert.match(out, /^resolve: \["10\.0\.2\.2"\]$/m, out);
      assert.match(out, /^literal: \["10\.0\.2\.2"\]$/m, out);
      assert.match(out, /^many: \["192\.0\.2\.1","192\.0\.2\.2","192\.0\.2\.3","192\.0\.2\.4"\]$/m, out);
      assert.ok(out.includes(`\nfetch: 200 {"path":"/by-name","host":"web.test:${hostPort}"}\n`), out);
      assert.match(out, /^nx: true NameNotFoundError: resolve: nx\.test: no such host/m, out);
      assert.match(out, /^other: true NetworkPolicyError: connect: other\.test \(10\.0\.2\.2\):80 is outside the network policy/m, out);
      assert.match(out, /^bad: TypeError: resolve: "not a name" is not a host name/m, out);
      assert.match(out, /^fetch nx: TypeError: fetch failed NameNotFoundError: connect: nx\.test: no such host/m, out);
      assert.ok(dns.asked.includes("web.test") && !dns.asked.includes("10.0.2.2"), dns.asked.join(","));
    } finally {
      server.close();
      dns.close();
    }
  });
});

describe("the network on Firecracker: a TAP device made and removed by ukernel run, inside a network namespace", () => {
  const skip = !firecrackerVersion() ? "no firecracker binary on PATH" : !kvmUsable() ? "firecracker needs a usable /dev/kvm" : process.getuid?.() !== 0 ? "making a TAP device and a network namespace needs root" : false;
  test("the TypeScript JSON service answers through the forward and at the guest's address, cold and from a snapshot; the TAP devices are gone after", { skip }, async () => {
    const ns = `zigu-test-${process.pid}`;
    const inNs = (cmd: string[]) => ["ip", "netns", "exec", ns, ...cmd];
    await run(["ip", "netns", "add", ns], { timeoutMs: 10_000 });
    try {
      await run(inNs(["ip", "link", "set", "lo", "up"]), { timeoutMs: 10_000 });
      const dir = copyExample("http-json", "kvm", (t) => t.replace("[vm]\n", '[vm]\nvmm = "firecracker"\n'));
      const child = spawn(inNs(["node", cli, "run"])[0]!, inNs(["node", cli, "run"]).slice(1), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        const until = Date.now() + 240_000;
        let hello = "";
        while (!hello) {
          const r = await run(inNs(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:8080/hello?name=fc"]), { timeoutMs: 20_000 });
          if (r.exitCode === 0) hello = r.stdout;
          else if (Date.now() > until) throw new Error(`no answer:\n${out}`);
          else await new Promise((res) => setTimeout(res, 300));
        }
        assert.deepEqual(JSON.parse(hello), { message: "hello, fc", hits: 1, runtime: "zigu" });
        assert.match(out, /Firecracker v\S+, TAP device zigu\w+/);
        assert.match(out, /network: http:\/\/127\.0\.0\.1:8080 -> guest 10\.0\.2\.15:80/);
        const direct = await run(inNs(["curl", "-sS", "--max-time", "10", "http://10.0.2.15/stop"]), { timeoutMs: 20_000 });
        assert.equal(direct.stdout, "bye\n", direct.stderr);
        assert.equal(await done, 0, out);
        const links = await run(inNs(["ip", "-o", "link"]), { timeoutMs: 10_000 });
        assert.doesNotMatch(links.stdout, /zigu/, "the TAP device is removed when the run ends");
      } finally {
        child.kill("SIGKILL");
      }
      // Snapshot starts: the run that makes the snapshot and a later one that only restores it
      // each serve on their own TAP device (the snapshot's interface re-pointed on restore), and
      // each starts from the ready point: the program's state (its hit counter) is the run's own.
      for (const [i, expect] of [[0, /snapshot: none for this image yet/], [1, /snapshot \w+: restoring/]] as const) {
        const snap = spawn(inNs(["node", cli, "run", "--snapshot"])[0]!, inNs(["node", cli, "run", "--snapshot"]).slice(1), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        let snapOut = "";
        snap.stdout!.on("data", (d) => (snapOut += d));
        snap.stderr!.on("data", (d) => (snapOut += d));
        const snapDone = new Promise<number | null>((resolve) => snap.on("exit", (code) => resolve(code)));
        try {
          const until = Date.now() + 120_000;
          let hello = "";
          while (!hello) {
            const r = await run(inNs(["curl", "-sS", "--max-time", "10", `http://127.0.0.1:8080/hello?name=snap${i}`]), { timeoutMs: 20_000 });
            if (r.exitCode === 0) hello = r.stdout;
            else if (Date.now() > until) throw new Error(`no answer from the snapshot start:\n${snapOut}`);
            else await new Promise((res) => setTimeout(res, 300));
          }
          assert.deepEqual(JSON.parse(hello), { message: `hello, snap${i}`, hits: 1, runtime: "zigu" });
          assert.match(snapOut, expect);
          const direct = await run(inNs(["curl", "-sS", "--max-time", "10", "http://10.0.2.15/stop"]), { timeoutMs: 20_000 });
          assert.equal(direct.stdout, "bye\n", direct.stderr);
          assert.equal(await snapDone, 0, snapOut);
          assert.match(snapOut, /snapshot \w+: restored in \d+ ms/);
        } finally {
          snap.kill("SIGKILL");
        }
      }
      const links = await run(inNs(["ip", "-o", "link"]), { timeoutMs: 10_000 });
      assert.doesNotMatch(links.stdout, /zigu/, "the TAP devices are removed when the snapshot runs end");
    } finally {
      await run(["ip", "netns", "del", ns], { timeoutMs: 10_000 });
    }
  });
});
