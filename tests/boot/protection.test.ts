// The protections the kernel claims at boot, checked for what each platform really does: escapes
// from ring 3 (the hostile workload's zigu.arg=<escape>) and from ring 0 (zigu.test=<escape>, the
// kernel doing what a hijacked kernel would) must each end in a fault, never run on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { accelerators, boot } from "./harness.ts";
import { status } from "../../src/console.ts";
import type { Accel } from "../../src/vmm/qemu.ts";

const PF = status.workloadFault(14);
const GP = status.workloadFault(13);
const UD = status.workloadFault(6);

/** What CPUID offers the guest: QEMU's TCG `-cpu max` has all four; KVM passes the host's. */
function offered(accel: Accel): Record<"smep" | "smap" | "umip" | "avx", boolean> {
  if (accel === "tcg") return { smep: true, smap: true, umip: true, avx: true };
  const flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "").trim().split(/\s+/));
  return { smep: flags.has("smep"), smap: flags.has("smap"), umip: flags.has("umip"), avx: flags.has("avx") && flags.has("xsave") };
}

const onOff = (b: boolean) => (b ? "on" : "off");

for (const accel of accelerators()) {
  describe(`protections, QEMU microvm, ${accel.toUpperCase()}`, () => {
    const want = offered(accel);

    test("the boot line names each protection, on exactly where the CPU offers it", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.verbose=1");
      const line = `zigu: protections: kernel text read-only, data no-execute, smep ${onOff(want.smep)}, smap ${onOff(want.smap)}, umip ${onOff(want.umip)}; avx ${onOff(want.avx)}; rdtsc and rdrand open to ring 3`;
      assert.ok(r.console.split("\n").map((l) => l.trim()).includes(line), `expected "${line}"\n${r.console}`);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    const ring3: [string, number[]][] = [
      ["exec-stack", [PF]], // NX on the stack
      ["exec-data", [PF]], // NX on .data/.bss
      ["write-text", [PF]], // workload text is read-only
      ["write-info", [PF]], // the info page and gate stub are read-only
      ["read-kernel", [PF]], // kernel memory is supervisor-only
      ["below-stack", [PF]], // nothing is mapped under the stack
      ["cli", [GP]],
      ["hlt", [GP]],
      ["wrmsr", [GP]],
      ["outb", [GP]], // no I/O port, not even the i8042 reset
      ["df-fault", [UD]], // a fault taken with DF set still ends cleanly
      ...(want.umip ? [["sgdt", [GP]] as [string, number[]]] : []),
      // DPL-0 vectors: #GP under TCG. kvm-pvm (the host's doing) raises #UD for most, and for
      // `int $4` delivers #OF to the kernel's own exception handler: also a clean workload fault.
      // Never an interrupt handler (32-47) or anything that lets the workload run on. Every
      // vector under TCG (a boot is ~0.1 s there), a sample of them under KVM (~0.4 s).
      ...(accel === "tcg" ? Array.from({ length: 256 }, (_, n) => n).filter((n) => n !== 3) : [0, 1, 2, 4, 5, 6, 8, 13, 14, 18, 32, 33, 47, 128, 255])
        .map((n): [string, number[]] => [`int${n}`, n < 32 ? [GP, UD, status.workloadFault(n)] : [GP, UD]]),
    ];
    for (const [escape, statuses] of ring3) {
      test(`ring 3 cannot ${escape}: the workload ends with a fault report`, async () => {
        const r = await boot(accel, `zigu.workload=hostile zigu.caps=log,time,task zigu.arg=${escape}`);
        assert.match(r.console, new RegExp(`^hostile: escape ${escape}$`, "m"), r.console);
        assert.doesNotMatch(r.console, /not stopped|zigu: panic/, r.console);
        assert.match(r.console, /^zigu: workload fault: /m, r.console);
        assert.equal(r.end.kind, "exit", r.console);
        assert.ok(r.end.kind === "exit" && statuses.includes(r.end.status), `status ${JSON.stringify(r.end)}, expected one of ${statuses}\n${r.console}`);
      });
    }

    test("rdtsc and rdrand work in ring 3 without time or random, as the boot line says", async () => {
      const r = await boot(accel, "zigu.workload=hostile zigu.caps=log zigu.arg=advisory zigu.verbose=1");
      assert.match(r.console, /rdtsc and rdrand open to ring 3/, r.console);
      assert.match(r.console, /^hostile: advisory \d+ passed, 0 failed$/m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    const ring0: [string, RegExp, boolean][] = [
      ["smep", /error=0x11 .* cr2=0x8000000800$/m, want.smep], // fetch from a user page
      ["smap", /error=0x1 .* cr2=0x8000000000$/m, want.smap], // read of a user page
      ["write-text", /error=0x3 /m, true], // write to kernel text (CR0.WP, read-only text)
      ["exec-data", /error=0x11 /m, true], // fetch from kernel data (NX)
    ];
    for (const [escape, frame, active] of ring0) {
      test(`ring 0 cannot ${escape} (zigu.test=${escape})`, { skip: !active && `${escape} not offered by this CPU` }, async () => {
        const r = await boot(accel, `zigu.workload=hello zigu.caps=log zigu.test=${escape}`);
        assert.doesNotMatch(r.console, /not stopped/, r.console);
        assert.match(r.console, /^zigu: panic: kernel exception: #PF page fault at rip=0x[0-9a-f]+$/m, r.console);
        assert.match(r.console, frame, r.console);
        assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
      });
    }
  });
}
