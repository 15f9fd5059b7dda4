/**
 * In-guest ABI figures (part of `npm run bench`): the round trip of an ABI call (clock_now)
 * against the bare kernel entry (nop), in ring-3 TSC cycles, and io_poll's wake-up lateness for
 * a 1 ms timer (median and p99 of 200). Measured by the abibench workload
 * (tests/kernel/workloads/abibench.zig) on the release (ReleaseSafe) kernel, on every platform at hand.
 */
import { buildKernel, releaseOptimize } from "../src/zig.ts";
import { bootQemu, kvmUsable } from "../src/vmm/qemu.ts";
import { bootFirecracker, firecrackerVersion } from "../src/vmm/firecracker.ts";
import type { BootResult } from "../src/vmm/qemu.ts";

const runs = 3;
const line = /abibench: gate=(\w+) nop_cycles=(\d+) clock_now_cycles=(\d+) timer_late_us_median=(\d+) timer_late_us_p99=(\d+)/;

async function main(): Promise<void> {
  const k = await buildKernel(releaseOptimize);
  const cmdline = "console=ttyS0 zigu.workload=abibench zigu.caps=log,time";
  const platforms: [string, () => Promise<BootResult>][] = [["qemu-tcg", () => bootQemu({ kernel: k.kernel, cmdline, accel: "tcg", timeoutMs: 60_000 })]];
  if (kvmUsable()) platforms.push(["qemu-kvm", () => bootQemu({ kernel: k.kernel, cmdline, accel: "kvm", timeoutMs: 60_000 })]);
  const fc = firecrackerVersion();
  if (fc && kvmUsable()) platforms.push([`firecracker-${fc}`, () => bootFirecracker({ kernel: k.kernel, cmdline, timeoutMs: 60_000 })]);

  console.log(`\nABI in the guest (${releaseOptimize}, abibench workload, median of ${runs} boots)`);
  console.log(`  ${"platform".padEnd(20)} gate      nop cyc  clock_now cyc  ratio  timer late us (median / p99)`);
  for (const [name, boot] of platforms) {
    const rows: number[][] = [];
    let gate = "";
    for (let i = 0; i < runs; i++) {
      const r = await boot();
      const m = line.exec(r.console);
      if (!m) throw new Error(`${name}: no abibench line:\n${r.console}`);
      gate = m[1]!;
      rows.push(m.slice(2).map(Number));
    }
    const med = (col: number) => [...rows.map((r) => r[col]!)].sort((a, b) => a - b)[rows.length >> 1]!;
    const [nop, clock, lateMed, lateP99] = [med(0), med(1), med(2), med(3)];
    console.log(`  ${name.padEnd(20)} ${gate.padEnd(8)} ${String(nop).padStart(8)} ${String(clock).padStart(14)}  ${(clock / nop).toFixed(2).padStart(5)}  ${lateMed} / ${lateP99}`);
  }
}

await main();
