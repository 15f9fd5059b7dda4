/**
 * Density (part of `npm run bench`): N microVMs started at once, each running the idle workload
 * (zigu.workload=idle: it waits in io_poll on a timer an hour away, and the kernel halts the vCPU),
 * beside N of the idle PVH stub (bench/stub/idle.S: prints a byte and halts with interrupts off,
 * the least a guest can cost) started the same way in the same run. For each: how long until
 * every VM said it was ready (and so VMs started per second), the host memory of each VMM process
 * (RSS and PSS from /proc/<pid>/smaps_rollup, medians) and its CPU while idle (utime + stime over a
 * window, per VM). Release kernel; QEMU microvm under KVM (and TCG), Firecracker when on PATH,
 * where N clones restored at once from one snapshot of the idle workload (taken at its ready call)
 * are measured too.
 * Usage: npm run bench (all of it), or: npx tsx bench/density.ts [--vms N] [--window S]
 */
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { buildKernel, releaseOptimize } from "../src/zig.ts";
import { cpuSeconds } from "../src/proc.ts";
import { kvmUsable, qemuCommand, type Accel } from "../src/vmm/qemu.ts";
import { firecrackerConfig, firecrackerVersion } from "../src/vmm/firecracker.ts";
import { createSnapshot, restoreSnapshot, type Snapshot } from "../src/vmm/snapshot.ts";

const { values } = parseArgs({
  options: {
    vms: { type: "string", default: "16" },
    window: { type: "string", default: "5" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npx tsx bench/density.ts [--vms N (default 16)] [--window S (idle CPU sampled over S seconds, default 5)]");
  process.exit(0);
}
const count = Number(values.vms);
const windowS = Number(values.window);
if (!Number.isInteger(count) || count < 1) throw new Error(`--vms ${values.vms}: expected a positive integer`);
if (!Number.isFinite(windowS) || windowS <= 0) throw new Error(`--window ${values.window}: expected a positive number of seconds`);

const memMiB = 128;
const readyTimeoutMs = 120_000;

interface Vm {
  pid: () => number;
  ready: Promise<number>;
  stop: () => void;
}

/** Starts one VMM process; `ready` resolves with the ms from spawn to `marker` on its console. */
function start(command: string[], marker: string, cleanup: () => void = () => {}): Vm {
  const t0 = performance.now();
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${readyTimeoutMs} ms: ${out.slice(-500)}`)), readyTimeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(marker)) {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before it was ready: ${out.slice(-500)}`));
    });
  });
  return {
    pid: () => child.pid!,
    ready,
    stop: () => {
      child.kill("SIGKILL");
      cleanup();
    },
  };
}

/** A restore of `snap` in a new Firecracker process (as `ukernel run --snapshot` starts one). */
function snapshotVm(snap: Snapshot, marker: string): Vm {
  const t0 = performance.now();
  const abort = new AbortController();
  let pid = 0;
  let out = "";
  let ok: (ms: number) => void = () => {};
  let fail: (e: Error) => void = () => {};
  const ready = new Promise<number>((resolve, reject) => {
    ok = resolve;
    fail = reject;
  });
  const timer = setTimeout(() => fail(new Error(`not ready after ${readyTimeoutMs} ms: ${out.slice(-500)}`)), readyTimeoutMs);
  restoreSnapshot(snap, {
    timeoutMs: 3_600_000,
    signal: abort.signal,
    onSpawn: (p) => (pid = p),
    onConsole: (c) => {
      out += c;
      if (out.includes(marker)) {
        clearTimeout(timer);
        ok(performance.now() - t0);
      }
    },
  }).then(
    () => fail(new Error(`ended before it was ready: ${out.slice(-500)}`)),
    (e: Error) => fail(e),
  );
  return { pid: () => pid, ready, stop: () => abort.abort() };
}

function qemuVm(kernel: string, cmdline: string, accel: Accel, marker: string): Vm {
  return start(qemuCommand({ kernel, cmdline, accel, memMiB }), marker);
}

function firecrackerVm(kernel: string, cmdline: string, marker: string): Vm {
  const dir = mkdtempSync(join(tmpdir(), "zigu-density-"));
  const cfg = join(dir, "config.json");
  const log = join(dir, "firecracker.log");
  writeFileSync(cfg, JSON.stringify(firecrackerConfig({ kernel, cmdline: `${cmdline} zigu.epoch_ns=${BigInt(Date.now()) * 1_000_000n}`, memMiB })));
  writeFileSync(log, "");
  return start(["firecracker", "--no-api", "--config-file", cfg, "--log-path", log], marker, () => rmSync(dir, { recursive: true, force: true }));
}

function kib(pid: number, field: "Rss" | "Pss"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  if (!m) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Row { readyS: number; perSecond: number; rssMiB: number; pssMiB: number; cpuPct: number }

/** N of one kind at once: time to all ready, then memory, then idle CPU over the window. */
async function measure(make: () => Vm): Promise<Row> {
  const t0 = performance.now();
  const vms = Array.from({ length: count }, make);
  try {
    await Promise.all(vms.map((v) => v.ready));
    const readyS = (performance.now() - t0) / 1000;
    const pids = vms.map((v) => v.pid());
    const rss = pids.map((p) => kib(p, "Rss") / 1024);
    const pss = pids.map((p) => kib(p, "Pss") / 1024);
    const before = pids.map(cpuSeconds);
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const cpu = pids.map((p, i) => ((cpuSeconds(p) - before[i]!) / windowS) * 100);
    return { readyS, perSecond: count / readyS, rssMiB: median(rss), pssMiB: median(pss), cpuPct: median(cpu) };
  } finally {
    for (const v of vms) v.stop();
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const k = await buildKernel(releaseOptimize);
  const cmdline = "console=ttyS0 zigu.workload=idle zigu.caps=log,time";
  const platforms: [string, (kernel: string, cmdline: string, marker: string) => Vm][] = [];
  if (kvmUsable()) platforms.push(["qemu-kvm", (kn, c, m) => qemuVm(kn, c, "kvm", m)]);
  const fc = firecrackerVersion();
  if (fc && kvmUsable()) platforms.push([`firecracker-${fc}`, firecrackerVm]);
  platforms.push(["qemu-tcg", (kn, c, m) => qemuVm(kn, c, "tcg", m)]);

  console.log(`\nDensity: ${count} idle microVMs started at once, ${memMiB} MiB each (${releaseOptimize}; idle CPU over ${windowS} s; medians per VM)`);
  console.log(`  ${"platform".padEnd(20)} ${"guest".padEnd(10)} all ready s  VMs/s   RSS MiB   PSS MiB   CPU % per VM`);
  for (const [name, vm] of platforms) {
    const stub = await measure(() => vm(k.idleStub, "console=ttyS0", "Z"));
    const zigu = await measure(() => vm(k.kernel, cmdline, "idle: ready"));
    const rows: [string, Row][] = [["idle stub", stub], ["zigu idle", zigu]];
    if (name.startsWith("firecracker")) {
      // The idle workload calls ready before its line: clones of one snapshot taken there.
      const root = mkdtempSync(join(tmpdir(), "zigu-density-snap-"));
      const snap = await createSnapshot(root, { kernel: k.kernel, cmdline, memMiB }, { timeoutMs: readyTimeoutMs });
      rows.push(["zigu snap", await measure(() => snapshotVm(snap, "idle: ready"))]);
      rmSync(root, { recursive: true, force: true });
    }
    for (const [guest, r] of rows) {
      console.log(`  ${name.padEnd(20)} ${guest.padEnd(10)} ${r.readyS.toFixed(2).padStart(11)} ${r.perSecond.toFixed(1).padStart(6)} ${r.rssMiB.toFixed(1).padStart(9)} ${r.pssMiB.toFixed(1).padStart(9)} ${r.cpuPct.toFixed(2).padStart(14)}`);
    }
    for (const [guest, r] of rows.slice(1)) {
      console.log(`  ${name.padEnd(20)} ${`${guest.slice(5)}/stub`.padEnd(10)} ${(r.readyS / stub.readyS).toFixed(2).padStart(10)}x ${"".padStart(6)} ${(r.rssMiB / stub.rssMiB).toFixed(2).padStart(8)}x ${(r.pssMiB / stub.pssMiB).toFixed(2).padStart(8)}x`);
    }
  }
}

await main();
