/**
 * `npm run bench`: boot time of the sample workload (VMM process start to exit), Debug, release
 * (ReleaseSafe) and ReleaseSmall kernels, and the release kernel given the gate and TSC frequency
 * as `ukernel run` gives them once it knows the host (zigu-release-given) (the last two differ by the checks kept), as a ratio against a minimal PVH stub (bench/stub/stub.S: prints one byte
 * and resets the VM) booted alternately in the same run; plus the kernel's own boot time and the
 * image sizes. Runs under TCG, under KVM when /dev/kvm works, and on Firecracker when it is on PATH,
 * where the release kernel also starts from a snapshot taken at the sample's ready point
 * (zigu-snapshot-start: a new Firecracker process restoring it, as `ukernel run --snapshot` does).
 * Machines are noisy: compare the ratios, not the absolute times.
 */
import { parseArgs } from "node:util";
import { statSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildKernel, releaseOptimize, repoRoot, type KernelBuild } from "../src/zig.ts";
import { bootQemu, kvmUsable, type Accel, type BootResult } from "../src/vmm/qemu.ts";
import { bootFirecracker, firecrackerVersion } from "../src/vmm/firecracker.ts";
import { createSnapshot, restoreSnapshot } from "../src/vmm/snapshot.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { loadedEnd } from "../src/elf.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "15" }, help: { type: "boolean", short: "h", default: false } },
});
if (values.help) {
  console.log("usage: npm run bench -- [--rounds N]   (default 15 alternating rounds per platform)");
  process.exit(0);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: expected a positive integer`);

type Platform = { name: string; boot: (kernel: string, cmdline: string) => Promise<BootResult>; snapshots?: boolean };
const timeoutMs = 60_000;
const platforms: Platform[] = [];
const qemuOn = (accel: Accel): Platform => ({
  name: `qemu-${accel}`,
  boot: (kernel, cmdline) => bootQemu({ kernel, cmdline, accel, timeoutMs }),
});
platforms.push(qemuOn("tcg"));
if (kvmUsable()) platforms.push(qemuOn("kvm"));
const fc = firecrackerVersion();
if (fc && kvmUsable()) platforms.push({ name: `firecracker-${fc}`, boot: (kernel, cmdline) => bootFirecracker({ kernel, cmdline, timeoutMs }), snapshots: true });

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s.at(-1)! };
}

const fmt = (ms: number) => ms.toFixed(1).padStart(7);

async function main(): Promise<void> {
  const debug = await buildKernel("Debug");
  const release = await buildKernel(releaseOptimize);
  // The release kernel keeps its checks (ReleaseSafe); ReleaseSmall beside it shows their cost.
  const small = await buildKernel("ReleaseSmall");
  const hello = "console=ttyS0 zigu.workload=hello zigu.caps=log";
  const subjects: { name: string; kernel: string; cmdline: string; stub: boolean }[] = [
    { name: "pvh-stub", kernel: release.stub, cmdline: "console=ttyS0", stub: true },
    { name: "zigu-debug", kernel: debug.kernel, cmdline: hello, stub: false },
    { name: "zigu-release", kernel: release.kernel, cmdline: hello, stub: false },
    { name: "zigu-release-small", kernel: small.kernel, cmdline: hello, stub: false },
  ];
  const sizes = (b: KernelBuild) => ({ file_bytes: statSync(b.kernel).size, loaded_bytes: loadedEnd(b.kernel) - 0x100000 });
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    rounds,
    sizes: { debug: sizes(debug), release: sizes(release), release_small: sizes(small), stub: { file_bytes: statSync(release.stub).size } },
    platforms: {} as Record<string, unknown>,
  };
  console.log(`image sizes: Debug ${statSync(debug.kernel).size} B (loaded ${sizes(debug).loaded_bytes} B), ` +
    `${releaseOptimize} ${statSync(release.kernel).size} B (loaded ${sizes(release).loaded_bytes} B), ` +
    `ReleaseSmall ${statSync(small.kernel).size} B (loaded ${sizes(small).loaded_bytes} B), stub ${statSync(release.stub).size} B`);

  for (const p of platforms) {
    const warm = await p.boot(release.kernel, subjects[2]!.cmdline); // warm the page cache and the VMM binary
    // As `ukernel run` boots once it has learnt the host (src/hostfacts.ts): the gate and the TSC
    // frequency on the command line, so the kernel neither probes nor reads kvmclock.
    const gate = /gate (syscall|trap) \(probed\)/.exec(warm.console)?.[1];
    const khz = /tsc (\d+) kHz/.exec(warm.console)?.[1];
    if (!gate || !khz) throw new Error(`${p.name}: no boot line to learn from:\n${warm.console}`);
    const given = `${hello} zigu.gate=${gate} zigu.tsc_hz=${Number(khz) * 1000}`;
    const subjectsHere: { name: string; kernel: string; cmdline: string; stub: boolean; restore?: boolean }[] = [...subjects, { name: "zigu-release-given", kernel: release.kernel, cmdline: given, stub: false }];
    // Firecracker: the same workload started from a snapshot taken at its ready point (the hello
    // sample calls `ready` before its line), from process start to exit, as `ukernel run --snapshot` does.
    const snapRoot = mkdtempSync(join(tmpdir(), "zigu-bench-snap-"));
    const snap = p.snapshots ? await createSnapshot(snapRoot, { kernel: release.kernel, cmdline: given, memMiB: 256 }, { timeoutMs }) : undefined;
    if (snap) subjectsHere.push({ name: "zigu-snapshot-start", kernel: release.kernel, cmdline: given, stub: false, restore: true });
    const wall = new Map<string, number[]>(subjectsHere.map((s) => [s.name, []]));
    const guestUs = new Map<string, number[]>(subjectsHere.map((s) => [s.name, []]));
    for (let i = 0; i < rounds; i++) {
      for (const s of subjectsHere) {
        const r = s.restore ? await restoreSnapshot(snap!, { timeoutMs }) : await p.boot(s.kernel, s.cmdline);
        const ok = s.stub ? r.console.startsWith("Z") : r.end.kind === "exit" && r.end.status === 0;
        if (r.timedOut || !ok) throw new Error(`${p.name}/${s.name}: boot failed:\n${r.console}\n${r.vmm.stderr}`);
        wall.get(s.name)!.push(r.wallMs);
        const m = /boot (\d+) us/.exec(r.console);
        if (m?.[1]) guestUs.get(s.name)!.push(Number(m[1]));
      }
    }
    const base = stats(wall.get("pvh-stub")!).median;
    console.log(`\n${p.name}: wall ms from VMM start to exit over ${rounds} alternating rounds`);
    console.log(`  ${"subject".padEnd(19)}    min  median     max   ratio  in-guest boot (median)`);
    const rows: Record<string, unknown> = {};
    for (const s of subjectsHere) {
      const st = stats(wall.get(s.name)!);
      const g = guestUs.get(s.name)!;
      const guest = g.length ? stats(g).median / 1000 : undefined;
      rows[s.name] = { ...st, ratio_vs_stub: st.median / base, guest_boot_ms_median: guest };
      console.log(`  ${s.name.padEnd(19)}${fmt(st.min)} ${fmt(st.median)} ${fmt(st.max)}  ${(st.median / base).toFixed(2).padStart(5)}x  ${guest === undefined ? "-" : `${guest.toFixed(1)} ms`}`);
    }
    (report.platforms as Record<string, unknown>)[p.name] = rows;
    rmSync(snapRoot, { recursive: true, force: true });
  }
  const out = join(repoRoot, ".ukernel", "bench");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "boot.json"), JSON.stringify(report, null, 2));
  console.log(`\nfull figures: .ukernel/bench/boot.json`);
}

await main();
