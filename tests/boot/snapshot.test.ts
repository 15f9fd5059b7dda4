// Snapshot starts (docs/snapshots.md), the kernel's side: the `ready` call is harmless without a
// snapshot, `zigu.snapshot=1` is refused where there is no VMClock device (QEMU), and on Firecracker
// a snapshot taken at the ready point restores into clones that each see they were restored, draw
// different random bytes, read the host's wall clock and fire their timers on time. Firecracker is
// in no package registry: its tests run when a `firecracker` binary is on PATH and skip otherwise.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { accelerators, boot, kernel, bootTimeoutMs } from "./harness.ts";
import { firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { kvmUsable } from "../../src/vmm/qemu.ts";
import { createSnapshot, restoreSnapshot, findSnapshot, snapshotKey } from "../../src/vmm/snapshot.ts";
import { releaseOptimize } from "../../src/zig.ts";

const report = /^snapshot: restores (\d+) again (\d+) random ([0-9a-f]+) wall_ms (\d+) timer_late_us (\d+) sleep_late_us (\d+)$/m;

function parse(console: string) {
  const m = report.exec(console);
  assert.ok(m, `no report line:\n${console}`);
  return { restores: Number(m[1]), again: Number(m[2]), random: m[3]!, wallMs: Number(m[4]), timerLateUs: Number(m[5]), sleepLateUs: Number(m[6]) };
}

for (const accel of accelerators()) {
  describe(`snapshot starts, QEMU microvm, ${accel.toUpperCase()}`, () => {
    test("without a snapshot, ready returns 0 at once, twice, and the timer armed before it fires", async () => {
      const r = await boot(accel, "zigu.workload=snapshot zigu.caps=log,time,random");
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      const s = parse(r.console);
      assert.equal(s.restores, 0);
      assert.equal(s.again, 0);
      assert.doesNotMatch(r.console, /^zigu: ready$/m);
    });

    test("zigu.snapshot=1 without Firecracker's VMClock device stops the boot with the reason", async () => {
      const r = await boot(accel, "zigu.workload=snapshot zigu.caps=log,time,random zigu.snapshot=1");
      assert.match(r.console, /^zigu: panic: zigu\.snapshot=1: no VMClock device at 0xde000 \(snapshot starts need Firecracker 1\.14 or later\)/m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 255 }, r.console);
    });
  });
}

const version = firecrackerVersion();
const skip = !version ? "no firecracker binary on PATH" : !kvmUsable() ? "firecracker needs a usable /dev/kvm" : false;

describe(`snapshot starts, Firecracker ${version ?? ""}`.trim(), { skip }, () => {
  const cmdline = "console=ttyS0 zigu.workload=snapshot zigu.caps=log,time,random";

  test("two clones restored at once from one snapshot: each restored once, its own random bytes, the host's wall clock, timers on time", async () => {
    const k = await kernel(releaseOptimize);
    const root = mkdtempSync(join(tmpdir(), "zigu-snap-test-"));
    try {
      const src = { kernel: k.kernel, cmdline, memMiB: 64 };
      const made = await createSnapshot(root, src, { timeoutMs: bootTimeoutMs });
      assert.match(made.console, /^zigu \S+: boot \d+ us/m);
      assert.doesNotMatch(made.console, report, "the workload ran past its ready point before the snapshot");
      assert.deepEqual(findSnapshot(root, snapshotKey(src))?.dir, made.dir);
      const before = Date.now();
      const clones = await Promise.all([restoreSnapshot(made, { timeoutMs: bootTimeoutMs }), restoreSnapshot(made, { timeoutMs: bootTimeoutMs })]);
      const after = Date.now();
      const seen = clones.map((c) => {
        assert.deepEqual(c.end, { kind: "exit", status: 0 }, c.console);
        assert.doesNotMatch(c.console, /restored without the launcher's zigu\.epoch_ns/, c.console);
        return parse(c.console);
      });
      for (const s of seen) {
        assert.equal(s.restores, 1);
        assert.equal(s.again, 1, "a second ready call returns the count without waiting");
        // The wall clock is the host's (given on the serial line after the load), not the snapshot's.
        assert.ok(s.wallMs >= before - 5 && s.wallMs <= after + 5, `wall clock ${s.wallMs} outside [${before}, ${after}]`);
        // KVM resumes the LAPIC one-shot from its saved count: without a re-arm a wake came 0.4-0.5 s late.
        assert.ok(s.timerLateUs < 150_000, `the timer armed before the snapshot fired ${s.timerLateUs} us late`);
        assert.ok(s.sleepLateUs < 150_000, `a 20 ms sleep after the restore woke ${s.sleepLateUs} us late`);
      }
      assert.notEqual(seen[0]!.random, seen[1]!.random, "two clones drew the same random bytes");
      // A restore leaves the snapshot as it was: a third clone starts from it too.
      const third = await restoreSnapshot(made, { timeoutMs: bootTimeoutMs });
      assert.equal(parse(third.console).restores, 1);
      assert.ok(![seen[0]!.random, seen[1]!.random].includes(parse(third.console).random));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("the clock line after a restore: junk, an overlong line and a number past u64 before it are skipped; without one the clock runs on and the kernel says so", async () => {
    const k = await kernel(releaseOptimize);
    const root = mkdtempSync(join(tmpdir(), "zigu-snap-test-"));
    try {
      const made = await createSnapshot(root, { kernel: k.kernel, cmdline, memMiB: 64 }, { timeoutMs: bootTimeoutMs });
      const before = Date.now();
      const junk = await restoreSnapshot(made, {
        timeoutMs: bootTimeoutMs,
        serialInput: (line) => `\x00\xff garbage\r\n${"9".repeat(200)}\nzigu.epoch_ns=99999999999999999999999\nzigu.epoch_ns=12x\n${line}`,
      });
      const after = Date.now();
      assert.deepEqual(junk.end, { kind: "exit", status: 0 }, junk.console);
      assert.doesNotMatch(junk.console, /restored without the launcher's zigu\.epoch_ns/, junk.console);
      const s = parse(junk.console);
      assert.ok(s.wallMs >= before - 5 && s.wallMs <= after + 5, `wall clock ${s.wallMs} outside [${before}, ${after}]`);
      const none = await restoreSnapshot(made, { timeoutMs: bootTimeoutMs, serialInput: () => "" });
      assert.deepEqual(none.end, { kind: "exit", status: 0 }, none.console);
      assert.match(none.console, /^zigu: restored without the launcher's zigu\.epoch_ns line: the wall clock runs on from the snapshot$/m);
      assert.equal(parse(none.console).restores, 1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a workload that ends before its ready point makes no snapshot, and says why", async () => {
    const k = await kernel(releaseOptimize);
    const root = mkdtempSync(join(tmpdir(), "zigu-snap-test-"));
    try {
      // exitcode never calls ready (the hello sample does).
      await assert.rejects(createSnapshot(root, { kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=exitcode zigu.caps=log,time", memMiB: 64 }, { timeoutMs: bootTimeoutMs }), /snapshot not made: the workload ended \(status 7\) before its ready point/);
      assert.deepEqual(readdirSync(root), [], "a failed snapshot leaves nothing behind");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a damaged snapshot is refused with Firecracker's reason, and the VM does not start", async () => {
    const k = await kernel(releaseOptimize);
    const root = mkdtempSync(join(tmpdir(), "zigu-snap-test-"));
    try {
      const made = await createSnapshot(root, { kernel: k.kernel, cmdline, memMiB: 64 }, { timeoutMs: bootTimeoutMs });
      const { writeFileSync } = await import("node:fs");
      writeFileSync(made.state, "not a snapshot");
      await assert.rejects(restoreSnapshot(made, { timeoutMs: bootTimeoutMs }), /restoring the snapshot failed: Firecracker PUT \/snapshot\/load: 400/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
