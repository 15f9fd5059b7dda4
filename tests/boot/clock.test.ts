// The clock under load: many VMs booted at once must each learn the TSC frequency right (within
// 1% of the host's, measured here by tests/tools/tsc_hz.zig). Under KVM and on Firecracker the
// kernel reads it from KVM's paravirtual clock; under TCG it measures it against the PIT, and a
// descheduled vCPU must not skew that (it once gave 126 GHz or 5 MHz for 2.4 GHz).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { accelerators, boot, kernel } from "./harness.ts";
import { run } from "../../src/proc.ts";
import { repoRoot, zigCommand } from "../../src/zig.ts";
import { join } from "node:path";
import { bootFirecracker, firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { kvmUsable, type BootResult } from "../../src/vmm/qemu.ts";

let hostHz = 0;
const tscLine = /^zigu \S+: boot \d+ us, .*, tsc (\d+) kHz \(([^)]+)\)$/m;

before(async () => {
  await kernel("Debug");
  const r = await run([...zigCommand(), "run", join(repoRoot, "tests", "tools", "tsc_hz.zig")], { timeoutMs: 300_000, cwd: repoRoot });
  assert.equal(r.exitCode, 0, r.stderr);
  hostHz = Number(r.stdout.trim());
  assert.ok(hostHz > 10_000_000, r.stdout);
});

/** Boots `count` VMs at once; every one's TSC frequency and where it came from. */
async function together(count: number, one: () => Promise<BootResult>): Promise<{ khz: number; source: string }[]> {
  const results = await Promise.all(Array.from({ length: count }, one));
  return results.map((r) => {
    const m = tscLine.exec(r.console);
    assert.ok(m, `no tsc line:\n${r.console}`);
    assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    return { khz: Number(m[1]), source: m[2]! };
  });
}

function within1Percent(got: { khz: number; source: string }[]): void {
  const off = got.filter((g) => Math.abs(g.khz * 1000 - hostHz) > hostHz / 100);
  assert.deepEqual(off, [], `host ${hostHz} Hz; guests: ${got.map((g) => `${g.khz} kHz (${g.source})`).join(", ")}`);
}

describe("the TSC frequency of many VMs booted at once", () => {
  for (const accel of accelerators()) {
    // TCG runs the vCPUs in the host's threads: fewer of them fill the machine.
    const count = accel === "kvm" ? 16 : 8;
    test(`QEMU ${accel.toUpperCase()}: ${count} at once, each within 1% of the host's`, async () => {
      const got = await together(count, () => boot(accel, "zigu.workload=hello", { timeoutMs: 120_000 }));
      within1Percent(got);
      if (accel === "kvm") assert.ok(got.every((g) => g.source === "kvmclock"), got.map((g) => g.source).join(", "));
      else assert.ok(got.every((g) => g.source.startsWith("PIT")), got.map((g) => g.source).join(", "));
    });
  }

  const fc = firecrackerVersion();
  test("Firecracker: 16 at once, each within 1% of the host's, from kvmclock", { skip: !fc || !kvmUsable() ? "firecracker is not on PATH (or /dev/kvm is unusable)" : false }, async () => {
    const k = await kernel("Debug");
    const got = await together(16, () => bootFirecracker({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=hello zigu.caps=log,time", timeoutMs: 120_000 }));
    within1Percent(got);
    assert.ok(got.every((g) => g.source === "kvmclock"), got.map((g) => g.source).join(", "));
  });

  test("zigu.tsc_hz= from the launcher wins, and a bad one is a clear panic", async () => {
    const accel = accelerators().at(-1)!;
    const r = await boot(accel, `zigu.workload=hello zigu.tsc_hz=${hostHz}`);
    assert.match(r.console, new RegExp(`tsc ${Math.floor(hostHz / 1000)} kHz \\(zigu.tsc_hz\\)`), r.console);
    assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    for (const bad of ["lots", "5", "100000000001", "-1"]) {
      const b = await boot(accel, `zigu.workload=hello zigu.tsc_hz=${bad}`);
      assert.match(b.console, new RegExp(`^zigu: panic: zigu.tsc_hz=${bad}: expected the TSC frequency in Hz \\(10 MHz to 100 GHz\\)`, "m"), b.console);
      assert.deepEqual(b.end, { kind: "exit", status: 255 }, b.console);
    }
  });
});
