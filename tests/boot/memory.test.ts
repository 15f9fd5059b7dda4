// mem_map and mem_unmap in a real microVM, under every available accelerator, on the Debug and
// the release kernel: the memory workload's hostile inputs and checks (tests/kernel/workloads/
// memory.zig), code in mapped memory and reads after unmap ending in page faults, the guest's own
// memory running out as ERR_NO_SPACE, the limit's checks, and a small guest.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { accelerators, boot, kernel } from "./harness.ts";
import { status } from "../../src/console.ts";
import { releaseOptimize, type Optimize } from "../../src/zig.ts";

before(async () => {
  await kernel("Debug");
});

for (const accel of accelerators()) {
  describe(`mem_map on QEMU microvm, ${accel.toUpperCase()}`, () => {
    for (const optimize of ["Debug", releaseOptimize] as Optimize[]) {
      const tag = optimize === "Debug" ? "" : ` [${optimize}]`;
      test(`hostile lengths, foreign and double unmaps, the limit, zero fill after unmap and remap, churn, a full table${tag}`, async () => {
        // 64 MiB of guest memory: 60 rounds of 2 MiB would run it out if unmapping leaked.
        const r = await boot(accel, "zigu.workload=memory zigu.caps=log zigu.memory_limit_mib=16 zigu.verbose=1", { optimize, memMiB: 64, timeoutMs: 60_000 });
        assert.match(r.console, /\(built in, policy "log", memory limit 16 MiB\)/, r.console);
        assert.doesNotMatch(r.console, /memory: FAIL/, r.console);
        assert.match(r.console, /^memory: failed 0$/m, r.console);
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      });
    }

    test("mapped memory is never executable: running code there is a page fault", async () => {
      const r = await boot(accel, "zigu.workload=memory zigu.caps=log zigu.arg=exec");
      assert.match(r.console, /^zigu: workload fault: #PF page fault$/m, r.console);
      assert.doesNotMatch(r.console, /mapped memory ran as code/);
      assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(14) }, r.console);
    });

    test("unmapped memory is gone: reading it is a page fault", async () => {
      const r = await boot(accel, "zigu.workload=memory zigu.caps=log zigu.arg=after-unmap");
      assert.match(r.console, /^zigu: workload fault: #PF page fault$/m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(14) }, r.console);
    });

    test("without a limit the guest's memory is the limit: running out is no_space, then 4 KiB pages are left", async () => {
      const r = await boot(accel, "zigu.workload=memory zigu.caps=log zigu.arg=exhaust", { memMiB: 32 });
      const m = /^memory: exhausted after (\d+) MiB and (\d+) KiB, then no_space$/m.exec(r.console);
      assert.ok(m, r.console);
      assert.ok(Number(m[1]) >= 16 && Number(m[1]) < 32, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    test("a bad memory limit stops the boot with a clear panic", async () => {
      for (const bad of ["0", "16M", "16385", "-1"]) {
        const r = await boot(accel, `zigu.workload=hello zigu.caps=log zigu.memory_limit_mib=${bad}`);
        assert.match(r.console, new RegExp(`zigu: panic: memory limit "${bad}" \\(built in\\): expected MiB, 1 to 16384`), r.console);
        assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
      }
    });

    test("the kernel and its sample run in an 8 MiB guest", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.caps=log", { memMiB: 8 });
      assert.match(r.console, /^hello from ring 3 /m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });
  });
}
