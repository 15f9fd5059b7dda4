// Math inside the microVM: tests/libc/math_cases.js (~4,750 values, one line each: function,
// argument bits, result bits) run by the js workload in ring 3 and diffed against Node, value by
// value. tests/libc/libc.test.ts checks the same archives on the host's FPU; this checks that what
// the guest links (its link order, its compiler_rt) computes the same. TCG only, as ZIGU_ACCEL
// allows: each console line is a log call, and 4,751 of them take ~110 s under nested KVM here
// against ~5 s under TCG, whose floating point is IEEE-exact in software.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { accelerators, boot, kernel, lines } from "./harness.ts";
import { jsDepsReady, repoRoot, zigCommand } from "../../src/zig.ts";
import { jsBuildArgs } from "../../src/runtime-js.ts";
import { run } from "../../src/proc.ts";

const skip = jsDepsReady() ? false : "the runtime's archives are not built (./scripts/setup runs scripts/runtime-deps)";
const script = "tests/libc/math_cases.js";

const isNaNBits = (hex: string) => /^[7f]ff/.test(hex) && BigInt(`0x${hex}`) % (1n << 52n) !== 0n;

describe("Math in the microVM", { skip }, () => {
  let workload = "";
  before(async () => {
    await kernel("Debug");
    const prefix = join(repoRoot, "zig-out", "js-Debug-math");
    const r = await run([...zigCommand(), "build", "install", "-Doptimize=Debug", ...(await jsBuildArgs()), `-Djs-script=${script}`, "-p", prefix, "--summary", "none"], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    workload = join(prefix, "workloads", "js");
  });

  for (const accel of accelerators().filter((a) => a === "tcg")) {
    test(`every Math value equals Node's to the last bit (${accel.toUpperCase()})`, async () => {
      const want = execFileSync(process.execPath, [join(repoRoot, script)], { encoding: "utf8" }).trim().split("\n");
      const r = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: workload, timeoutMs: 300_000 });
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console.slice(-2000));
      const got = lines(r.console).filter((l) => !l.startsWith("zigu"));
      assert.equal(got.length, want.length, "the guest printed a different number of values");
      const bad = want.flatMap((w, i) => {
        const [p, q] = [w.split(" "), got[i]!.split(" ")];
        const same = (a: string, b: string) => a === b || (isNaNBits(a) && isNaNBits(b));
        return p.length === q.length && p.every((h, j) => same(h, q[j]!)) ? [] : [`${got[i]}   (Node: ${w})`];
      });
      assert.deepEqual(bad, []);
    });
  }
});
