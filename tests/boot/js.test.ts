// JavaScript inside the microVM: QuickJS-NG in ring 3 on picolibc (runtime/js/, runtime/libc/),
// booted as an initrd on QEMU under TCG and KVM, its output diffed against Node's for the same
// script. Needs the runtime's archives (./scripts/setup builds them with scripts/runtime-deps).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accelerators, boot, kernel, lines } from "./harness.ts";
import { jsDepsReady, releaseOptimize, repoRoot, zigCommand, type Optimize } from "../../src/zig.ts";
import { jsBuildArgs } from "../../src/runtime-js.ts";
import { run } from "../../src/proc.ts";
import { bootQemu } from "../../src/vmm/qemu.ts";
import { create as createTar } from "tar";

const skip = jsDepsReady() ? false : "the runtime's archives are not built (./scripts/setup runs scripts/runtime-deps)";

/** The js workload built around `script` (a separate prefix per script: the script is built in). */
async function jsWorkload(script: string, optimize: Optimize = "Debug"): Promise<string> {
  const prefix = join(repoRoot, "zig-out", `js-${optimize}-${script.replaceAll("/", "_")}`);
  const r = await run([...zigCommand(), "build", "install", `-Doptimize=${optimize}`, ...(await jsBuildArgs()), `-Djs-script=${script}`, "-p", prefix, "--summary", "none"], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  return join(prefix, "workloads", "js");
}

/** The workload's own lines: the console without the kernel's. */
function programLines(console: string): string[] {
  return lines(console).filter((l) => !l.startsWith("zigu"));
}

function nodeOutput(script: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "zigu-js-"));
  const file = join(dir, "main.mjs");
  writeFileSync(file, readFileSync(join(repoRoot, script)));
  return execFileSync(process.execPath, [file], { encoding: "utf8" }).split("\n").filter((l) => l.length > 0);
}

describe("JavaScript in the microVM", { skip }, () => {
  before(async () => {
    await kernel("Debug");
  });

  for (const accel of accelerators()) {
    for (const optimize of ["Debug", releaseOptimize] as Optimize[]) {
      test(`runtime/js/hello.js prints what Node prints (${accel.toUpperCase()}, ${optimize} kernel)`, async () => {
        const wl = await jsWorkload("runtime/js/hello.js");
        const r = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: wl, optimize });
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
        assert.deepEqual(programLines(r.console), nodeOutput("runtime/js/hello.js"), r.console);
      });
    }

    test(`an uncaught exception prints the error and its stack and ends with 1 (${accel.toUpperCase()})`, async () => {
      const r = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: await jsWorkload("tests/js/throws.js") });
      const out = programLines(r.console);
      assert.equal(out[0], "before", r.console);
      assert.equal(out[1], "error: Uncaught TypeError: boom", r.console);
      assert.match(out[2] ?? "", /^error: {5}at inner \(main\.js:5:\d+\)$/, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 1 }, r.console);
      // A throw at the top level of the module: reported once (the engine rejects two promises).
      const top = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: await jsWorkload("tests/js/toplevel.js") });
      assert.deepEqual(programLines(top.console), ["start", "error: Uncaught SyntaxError: at the top", "error:     at main.js:3:11"], top.console);
      assert.deepEqual(top.end, { kind: "exit", status: 1 }, top.console);
    });

    test(`process.exit(3) ends with 3, an unhandled rejection with 1, deep recursion is a RangeError (${accel.toUpperCase()})`, async () => {
      const exit = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: await jsWorkload("tests/js/exit.js") });
      assert.deepEqual(programLines(exit.console), ["exiting with 3"], exit.console);
      assert.deepEqual(exit.end, { kind: "exit", status: 3 }, exit.console);
      const rejects = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: await jsWorkload("tests/js/rejects.js") });
      assert.match(rejects.console, /^error: Uncaught RangeError: nobody handles this$/m, rejects.console);
      assert.doesNotMatch(rejects.console, /never/);
      assert.deepEqual(rejects.end, { kind: "exit", status: 1 }, rejects.console);
      const deep = await boot(accel, "zigu.workload=initrd zigu.caps=log,time", { initrd: await jsWorkload("tests/js/recursion.js") });
      assert.deepEqual(programLines(deep.console), ["true true"], deep.console);
      assert.deepEqual(deep.end, { kind: "exit", status: 0 }, deep.console);
    });

    test(`without the log capability console.log throws, and the workload ends with 1 (${accel.toUpperCase()})`, async () => {
      const r = await boot(accel, "zigu.workload=initrd zigu.caps=time", { initrd: await jsWorkload("runtime/js/hello.js") });
      assert.doesNotMatch(r.console, /sync, microtask/);
      assert.deepEqual(r.end, { kind: "exit", status: 1 }, r.console);
    });
  }

  test("a root image's main.js is the program: the kernel maps the image read-only into the workload", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zigu-js-image-"));
    writeFileSync(join(dir, "policy"), "log,time\n");
    writeFileSync(join(dir, "workload.elf"), readFileSync(await jsWorkload("runtime/js/hello.js")));
    writeFileSync(join(dir, "main.js"), 'await new Promise((r) => setTimeout(r, 5));\nconsole.log("from the root image", 6 * 7);\n');
    const image = join(dir, "rootfs.img");
    await createTar({ file: image, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, ["policy", "workload.elf", "main.js"]);
    const k = await kernel("Debug");
    // An image without the program: one clear line and status 66, not the built-in script.
    const empty = join(dir, "empty.img");
    await createTar({ file: empty, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, ["policy", "workload.elf"]);
    for (const accel of accelerators()) {
      const r = await bootQemu({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=disk", accel, drive: image, timeoutMs: 60_000 });
      assert.deepEqual(programLines(r.console), ["from the root image 42"], r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      const none = await bootQemu({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=disk", accel, drive: empty, timeoutMs: 60_000 });
      assert.deepEqual(programLines(none.console), ["error: zigu js: the root image holds neither main.qjbc nor main.js (ukernel pack puts the program there)"], none.console);
      assert.deepEqual(none.end, { kind: "exit", status: 66 }, none.console);
    }
  });
});
