/**
 * In-guest ABI figures (part of `npm run bench`): a call that does nothing (nop) and clock_now as
 * workloads make it (from the clock page while CAP_TIME is active) and as a kernel call, each
 * against the bare kernel entry (`int 0x81`: one ring-0 instruction), in ring-3 TSC cycles, and io_poll's wake-up lateness for
 * a 1 ms timer (median and p99 of 200), and mem_map's cost for 2 MiB: the map call (recycled
 * memory zeroed in ring 3 before it returns), a write to each 4 KiB page, the unmap call (median
 * of 64 rounds, and the first round, on memory never handed out). Measured by the abibench workload
 * (tests/kernel/workloads/abibench.zig) on the release (ReleaseSafe) kernel, on every platform at hand.
 */
import { buildKernel, releaseOptimize } from "../src/zig.ts";
import { bootQemu, kvmUsable } from "../src/vmm/qemu.ts";
import { bootFirecracker, firecrackerVersion } from "../src/vmm/firecracker.ts";
import type { BootResult } from "../src/vmm/qemu.ts";

const runs = 3;
const line = /abibench: gate=(\w+) bare_cycles=(\d+) nop_cycles=(\d+) clock_now_cycles=(\d+) clock_call_cycles=(\d+) timer_late_us_median=(\d+) timer_late_us_p99=(\d+)/;
const memLine = /abibench: mem_map_2mib map_cycles=(\d+) touch_cycles=(\d+) unmap_cycles=(\d+) first_round_cycles=(\d+)/;
const tscLine = /tsc (\d+) kHz/;

async function main(): Promise<void> {
  const k = await buildKernel(releaseOptimize);
  // zigu.test=bare-entry with zigu.arg=bare: the workload also times the bare entry (a ud2 the
  // kernel returns from after two ring-0 instructions), the floor the gates are set beside.
  const cmdline = "console=ttyS0 zigu.workload=abibench zigu.caps=log,time zigu.test=bare-entry zigu.arg=bare";
  const platforms: [string, () => Promise<BootResult>][] = [["qemu-tcg", () => bootQemu({ kernel: k.kernel, cmdline, accel: "tcg", timeoutMs: 60_000 })]];
  if (kvmUsable()) platforms.push(["qemu-kvm", () => bootQemu({ kernel: k.kernel, cmdline, accel: "kvm", timeoutMs: 60_000 })]);
  const fc = firecrackerVersion();
  if (fc && kvmUsable()) platforms.push([`firecracker-${fc}`, () => bootFirecracker({ kernel: k.kernel, cmdline, timeoutMs: 60_000 })]);

  console.log(`\nABI in the guest (${releaseOptimize}, abibench workload, median of ${runs} boots)`);
  console.log(`  ${"platform".padEnd(20)} gate     bare cyc   nop cyc (x bare)   clock_now cyc (x bare)   clock call cyc (x bare)   timer late us (median / p99)`);
  const memRows: string[] = [];
  for (const [name, boot] of platforms) {
    const rows: number[][] = [];
    const mem: number[][] = [];
    let gate = "";
    for (let i = 0; i < runs; i++) {
      const r = await boot();
      const m = line.exec(r.console);
      const mm = memLine.exec(r.console);
      const mhz = Number(tscLine.exec(r.console)?.[1]) / 1000;
      if (!m || !mm || !mhz) throw new Error(`${name}: no abibench lines:\n${r.console}`);
      gate = m[1]!;
      rows.push(m.slice(2).map(Number));
      mem.push(mm.slice(1).map((c) => Number(c) / mhz)); // cycles to microseconds
    }
    const middle = (table: number[][], col: number) => [...table.map((r) => r[col]!)].sort((a, b) => a - b)[table.length >> 1]!;
    const med = (col: number) => middle(rows, col);
    const [bare, nop, clock, clockCall, lateMed, lateP99] = [med(0), med(1), med(2), med(3), med(4), med(5)];
    const x = (c: number, width: number) => `${String(c).padStart(width)} (${(c / bare).toFixed(2)}x)`;
    console.log(`  ${name.padEnd(20)} ${gate.padEnd(8)} ${String(bare).padStart(8)} ${x(nop, 9)} ${x(clock, 15)} ${x(clockCall, 16)}    ${lateMed} / ${lateP99}`);
    const us = (col: number) => middle(mem, col).toFixed(0).padStart(9);
    memRows.push(`  ${name.padEnd(20)} ${us(0)} ${us(1)} ${us(2)}   ${us(0 + 3)}`);
  }
  console.log(`\nmem_map of 2 MiB in the guest, microseconds (median of 64 rounds on recycled memory; first round on fresh)`);
  console.log(`  ${"platform".padEnd(20)}       map     touch     unmap   first round (map+touch+unmap)`);
  for (const row of memRows) console.log(row);
}

await main();
