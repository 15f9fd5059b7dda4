// An idle workload halts: a VM waiting in io_poll costs the host (almost) no CPU, where one that
// spins (the `hang` workload) costs a whole one. Measured on the VMM process (utime + stime from
// /proc) over the same window for both, so a loaded machine slows both alike; the bound is loose.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { accelerators, kernel } from "./harness.ts";
import { qemuCommand, type Accel } from "../../src/vmm/qemu.ts";
import { cpuSeconds } from "../../src/proc.ts";

/** Boots `workload`, waits for `marker`, then returns the VMM's CPU share over `windowMs`. */
async function cpuShare(accel: Accel, workload: string, marker: string, windowMs: number): Promise<number> {
  const k = await kernel("Debug");
  const cmd = qemuCommand({ kernel: k.kernel, cmdline: `console=ttyS0 zigu.workload=${workload} zigu.caps=log,time`, accel, memMiB: 64 });
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  try {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${marker}" after 60 s:\n${out}`)), 60_000);
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes(marker)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`VM exited (${code}):\n${out}`));
      });
    });
    const t0 = performance.now();
    const c0 = cpuSeconds(child.pid!);
    await new Promise((r) => setTimeout(r, windowMs));
    return (cpuSeconds(child.pid!) - c0) / ((performance.now() - t0) / 1000);
  } finally {
    child.kill("SIGKILL");
  }
}

for (const accel of accelerators()) {
  describe(`idle, QEMU microvm, ${accel.toUpperCase()}`, () => {
    test("a workload waiting in io_poll halts the vCPU: a fraction of the CPU a spinning one takes", async () => {
      const idle = await cpuShare(accel, "idle", "idle: ready", 2000);
      const spin = await cpuShare(accel, "hang", "hanging on purpose", 2000);
      assert.ok(spin > 0.15, `the spinning VM took only ${spin.toFixed(2)} of a CPU: the measurement is off`);
      assert.ok(idle < 0.25 && idle < spin / 4, `idle VM ${idle.toFixed(2)} of a CPU, spinning VM ${spin.toFixed(2)}`);
    });
  });
}
