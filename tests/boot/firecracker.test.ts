// Boots the kernel on a real Firecracker, by both of its boot protocols. Firecracker is in no
// package registry: these tests run when a `firecracker` binary is on PATH and skip otherwise.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { kernel, bootTimeoutMs } from "./harness.ts";
import { bootFirecracker, firecrackerConfig, firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { withoutNotes } from "../../src/elf.ts";
import { kvmUsable } from "../../src/vmm/qemu.ts";
import { status } from "../../src/console.ts";
import { releaseOptimize } from "../../src/zig.ts";

const version = firecrackerVersion();
const skip = !version ? "no firecracker binary on PATH" : !kvmUsable() ? "firecracker needs a usable /dev/kvm" : false;

test("the Firecracker config has the fields its --config-file loader requires", () => {
  const cfg = firecrackerConfig({ kernel: "/k.elf", cmdline: "console=ttyS0", memMiB: 128 });
  assert.deepEqual(Object.keys(cfg).sort(), ["boot-source", "drives", "machine-config"]);
  assert.deepEqual(cfg.drives, []);
  assert.equal(cfg["boot-source"].kernel_image_path, "/k.elf");
  assert.equal(cfg["boot-source"].boot_args, "console=ttyS0");
  assert.deepEqual(cfg["machine-config"], { vcpu_count: 1, mem_size_mib: 128 });
});

describe(`Firecracker ${version ?? ""}`.trim(), { skip }, () => {
  test("boots the sample by the PVH entry", async () => {
    const k = await kernel("Debug");
    const r = await bootFirecracker({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=hello zigu.caps=log", timeoutMs: bootTimeoutMs });
    assert.match(r.log, /Kernel loaded using PVH boot protocol/);
    assert.match(r.console, /^zigu \S+: booted by PVH, /m);
    assert.match(r.console, /wall clock: launcher,/);
    assert.match(r.console, /^hello from ring 3 \(gate: (trap|syscall)\)$/m);
    assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    assert.equal(r.vmm.exitCode, 0, "the i8042 reset should end firecracker cleanly");
  });

  test("boots the sample by the Linux 64-bit entry when the image has no PVH note", async () => {
    const k = await kernel("Debug");
    const noNote = join(mkdtempSync(join(tmpdir(), "zigu-linux64-")), "zigu-linux64.elf");
    withoutNotes(k.kernel, noNote);
    const r = await bootFirecracker({ kernel: noNote, cmdline: "console=ttyS0 zigu.workload=exitcode zigu.caps=log,time", timeoutMs: bootTimeoutMs });
    assert.match(r.log, /Kernel loaded using Linux 64-bit boot protocol/);
    assert.match(r.console, /^zigu \S+: booted by Linux 64-bit, \d+ MiB usable, cmdline "console=ttyS0 zigu.workload=exitcode zigu.caps=log,time/m);
    assert.match(r.console, /^sse 264\.325 clock_monotonic true bad_pointer -3 -3$/m);
    assert.deepEqual(r.end, { kind: "exit", status: 7 }, r.console);
    assert.equal(r.vmm.exitCode, 0, "the i8042 reset should end firecracker cleanly");
  });

  test("reports a workload fault and its status", async () => {
    const k = await kernel(releaseOptimize);
    const r = await bootFirecracker({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=fault zigu.caps=log", timeoutMs: bootTimeoutMs });
    assert.match(r.console, /^zigu: workload fault: #PF page fault$/m);
    assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(14) }, r.console);
  });
});
