/**
 * The network (part of `npm run bench`): requests per second and p99 latency of an HTTP JSON
 * handler (bench/net/handler.ts) served by the TypeScript runtime inside the microVM (`ukernel run
 * --release`, QEMU with its user network, KVM when usable) against the same handler on Node 20 on
 * the host, measured alternately with the same load (`ab -k`, keep-alive) in one run, as ratios;
 * the kernel entries per request (the kernel's count at exit over the requests served); bulk
 * download throughput (8 MiB); and the Zig echo server's round trips per second (examples/echo,
 * the kernel-and-stack ceiling without JavaScript). `tsx bench/net.ts [rounds]`.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { run } from "../src/proc.ts";
import { jsDepsReady, netLib, repoRoot } from "../src/zig.ts";
import { kvmUsable } from "../src/vmm/qemu.ts";
import { existsSync } from "node:fs";

const rounds = Number(process.argv[2] ?? 3);
const cli = join(repoRoot, "bin", "ukernel.js");
const accel = kvmUsable() ? "kvm" : "tcg";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const concurrency = 8;
const requests = 2000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function start(cmd: string[], cwd: string, ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  let out = "";
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (ready.test(out)) {
        clearInterval(t);
        resolve({ child, output: () => out });
      }
    }, 50);
    child.on("exit", (code) => {
      clearInterval(t);
      reject(new Error(`${cmd.join(" ")} ended (${code}) before it was ready:\n${out}`));
    });
  });
}

async function ab(url: string): Promise<{ rps: number; p99: number; failed: number }> {
  const r = await run(["ab", "-q", "-k", "-c", String(concurrency), "-n", String(requests), url], { timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new Error(`ab ${url}: ${r.stderr || r.stdout}`);
  const rps = Number(/Requests per second:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p99 = Number(/^\s+99%\s+(\d+)/m.exec(r.stdout)?.[1]);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(r.stdout)?.[1]) + Number(/Non-2xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { rps, p99, failed };
}

async function download(url: string): Promise<number> {
  const r = await run(["curl", "-sS", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url], { timeoutMs: 120_000 });
  const [speed, size] = r.stdout.split(" ").map(Number);
  if (size !== 8 << 20) throw new Error(`download ${url}: ${r.stdout} ${r.stderr}`);
  return speed! / 1048576;
}

/** Round trips per second over `conns` connections for `ms`: each sends 64 bytes and waits for them back. */
function echoLoad(port: number, conns: number, ms: number): Promise<number> {
  const msg = "x".repeat(63) + "\n";
  let trips = 0;
  const until = Date.now() + ms;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1");
      let got = 0;
      s.setNoDelay(true);
      s.on("connect", () => s.write(msg));
      s.on("data", (d) => {
        got += d.length;
        while (got >= msg.length) {
          got -= msg.length;
          trips++;
          if (Date.now() < until) s.write(msg);
          else return s.end();
        }
      });
      s.on("close", () => resolve());
      s.on("error", reject);
    });
  return Promise.all(Array.from({ length: conns }, one)).then(() => trips / (ms / 1000));
}

function lastRecord(dir: string): { network?: { kernelEntries: number } } {
  const runs = join(dir, ".ukernel", "runs");
  return JSON.parse(readFileSync(join(runs, readdirSync(runs).sort().at(-1)!, "result.json"), "utf8"));
}

if (!jsDepsReady() || !existsSync(netLib)) {
  console.log("\nThe network: skipped (./scripts/setup builds the runtime's archives and the network library)");
  process.exit(0);
}

// The TypeScript handler: in the microVM and on the host.
const guestPort = await freePort();
const hostPort = await freePort();
const dir = mkdtempSync(join(tmpdir(), "zigu-bench-net-"));
cpSync(join(repoRoot, "bench", "net", "handler.ts"), join(dir, "main.ts"));
writeFileSync(join(dir, "ukernel.toml"), `[workload]\nname = "bench-net"\nentry = "main.ts"\nruntime = "typescript"\n\n[vm]\naccel = "${accel}"\nmemory_mib = 256\ntimeout_s = 3600\n\n[capabilities]\nallow = ["log", "time", "net"]\n\n[network]\nlisten = [80]\nforward = ["${guestPort}:80"]\n`);
console.log(`\nThe network: an HTTP JSON handler in the microVM (QEMU ${accel.toUpperCase()}, release kernel) vs the same handler on Node ${process.versions.node} (ab -k -c ${concurrency} -n ${requests}, ${rounds} alternating rounds, median)`);
const guest = await start(["node", cli, "run", "--release"], dir, /Listening on http/);
const host = await start(["node", "--import", "tsx", join(repoRoot, "bench", "net", "host.ts"), String(hostPort)], repoRoot, /listening/);
const gUrl = `http://127.0.0.1:${guestPort}/hello?name=bench`;
const hUrl = `http://127.0.0.1:${hostPort}/hello?name=bench`;
let served = 0;
await ab(gUrl); // warm-up (the first connections teach the stack the gateway's address)
await ab(hUrl);
served += requests;
const g: { rps: number; p99: number }[] = [];
const h: { rps: number; p99: number }[] = [];
for (let i = 0; i < rounds; i++) {
  const a = await ab(gUrl);
  served += requests;
  if (a.failed) console.log(`  microVM round ${i}: ${a.failed} failed requests`);
  g.push(a);
  h.push(await ab(hUrl));
}
const gRps = median(g.map((x) => x.rps));
const hRps = median(h.map((x) => x.rps));
console.log(`  requests/s: microVM ${gRps.toFixed(0)}, host Node ${hRps.toFixed(0)}: ${(gRps / hRps).toFixed(2)}x`);
console.log(`  p99 latency: microVM ${median(g.map((x) => x.p99))} ms, host Node ${median(h.map((x) => x.p99))} ms`);
const gBulk = median(await Promise.all([0].map(() => download(`http://127.0.0.1:${guestPort}/bytes?n=${8 << 20}`))));
const hBulk = await download(`http://127.0.0.1:${hostPort}/bytes?n=${8 << 20}`);
console.log(`  bulk 8 MiB download: microVM ${gBulk.toFixed(1)} MiB/s, host Node ${hBulk.toFixed(1)} MiB/s: ${(gBulk / hBulk).toFixed(3)}x`);
const stop = await run(["curl", "-sS", `http://127.0.0.1:${guestPort}/stop`], { timeoutMs: 30_000 });
await new Promise((r) => guest.child.on("exit", r));
host.child.kill();
const entries = lastRecord(dir).network?.kernelEntries ?? NaN;
console.log(`  kernel entries per request: ${(entries / served).toFixed(2)} (${entries} over ${served} requests and the boot; ${stop.stdout.trim()})`);

// The Zig echo server: the kernel-and-stack ceiling.
const echoPort = await freePort();
const echoDir = mkdtempSync(join(tmpdir(), "zigu-bench-echo-"));
cpSync(join(repoRoot, "examples", "echo"), echoDir, { recursive: true, filter: (src) => !/\/(dist|\.ukernel)(\/|$)/.test(src) });
const toml = join(echoDir, "ukernel.toml");
writeFileSync(toml, readFileSync(toml, "utf8").replace('forward = ["7007:7"]', `forward = ["${echoPort}:7"]`).replace("[vm]\n", `[vm]\naccel = "${accel}"\n`));
const echo = await start(["node", cli, "run", "--release"], echoDir, /echo: listening on port 7/);
await echoLoad(echoPort, 1, 300);
const trips: number[] = [];
for (let i = 0; i < rounds; i++) trips.push(await echoLoad(echoPort, concurrency, 3000));
const s = net.connect(echoPort, "127.0.0.1", () => s.write("shutdown\n"));
s.on("error", () => {});
await new Promise((r) => echo.child.on("exit", r));
console.log(`  Zig echo server (examples/echo): ${median(trips).toFixed(0)} round trips/s over ${concurrency} connections (64 bytes each way)`);
