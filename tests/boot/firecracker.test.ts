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
    const r = await bootFirecracker({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=hello zigu.caps=log zigu.verbose=1", timeoutMs: bootTimeoutMs });
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
    const r = await bootFirecracker({ kernel: noNote, cmdline: "console=ttyS0 zigu.verbose=1 zigu.workload=exitcode zigu.caps=log,time", timeoutMs: bootTimeoutMs });
    assert.match(r.log, /Kernel loaded using Linux 64-bit boot protocol/);
    assert.match(r.console, /^zigu \S+: booted by Linux 64-bit, \d+ MiB usable, cmdline "console=ttyS0 zigu.verbose=1 zigu.workload=exitcode zigu.caps=log,time/m);
    assert.match(r.console, /^sse 264\.325 clock_monotonic true bad_pointer -3 -3$/m);
    assert.deepEqual(r.end, { kind: "exit", status: 7 }, r.console);
    assert.equal(r.vmm.exitCode, 0, "the i8042 reset should end firecracker cleanly");
  });

  const fc = async (cmdline: string, optimize: "Debug" | typeof releaseOptimize = "Debug") => {
    const k = await kernel(optimize);
    return bootFirecracker({ kernel: k.kernel, cmdline: `console=ttyS0 ${cmdline}`, timeoutMs: bootTimeoutMs });
  };

  test("the protections the kernel claims hold on Firecracker too (same kvm-pvm as QEMU KVM here)", async () => {
    const hello = await fc("zigu.workload=hello zigu.caps=log zigu.verbose=1");
    assert.match(hello.console, /^zigu: protections: kernel text read-only, data no-execute, smep on, smap on, umip on; avx on; rdtsc and rdrand open to ring 3$/m, hello.console);
    for (const [escape, vector] of [["exec-stack", 14], ["write-text", 14], ["read-kernel", 14], ["sgdt", 13], ["outb", 13]] as const) {
      const r = await fc(`zigu.workload=hostile zigu.caps=log,time,task zigu.arg=${escape}`);
      assert.doesNotMatch(r.console, /not stopped|zigu: panic/, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(vector) }, `${escape}\n${r.console}`);
    }
    for (const escape of ["smep", "smap"]) {
      const r = await fc(`zigu.workload=hello zigu.caps=log zigu.test=${escape}`);
      assert.match(r.console, /^zigu: panic: kernel exception: #PF page fault/m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
    }
  });

  for (const optimize of ["Debug", releaseOptimize] as const) {
    test(`the hostile, tasks and abi suites pass on Firecracker (${optimize})`, async () => {
      for (const [workload, caps, line] of [["hostile", "log,time,task", /^hostile: \d+ passed, 0 failed$/m], ["tasks", "log,time,task", /^tasks: \d+ passed, 0 failed$/m], ["abi", "log,time,random", /^abi: \d+ passed, 0 failed$/m]] as const) {
        const r = await fc(`zigu.workload=${workload} zigu.caps=${caps}`, optimize);
        assert.match(r.console, line, r.console);
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      }
    });
  }

  test("reports a workload fault and its status", async () => {
    const k = await kernel(releaseOptimize);
    const r = await bootFirecracker({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=fault zigu.caps=log", timeoutMs: bootTimeoutMs });
    assert.match(r.console, /^zigu: workload fault: #PF page fault$/m);
    assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(14) }, r.console);
  });
});
