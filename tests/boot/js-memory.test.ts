// The JavaScript runtime's heap in the microVM: it grows through mem_map (runtime/libc/zigu_libc.c,
// sbrk), so a program that allocates past the workload's memory limit ends with the engine's
// out-of-memory error and status 1, never a fault; and the runtime with a TypeScript-sized
// program runs in a 16 MiB guest, its limit carried by the root image's policy file.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { accelerators, boot, kernel, lines } from "./harness.ts";
import { jsDepsReady, repoRoot, zigCommand } from "../../src/zig.ts";
import { jsBuildArgs } from "../../src/runtime-js.ts";
import { run } from "../../src/proc.ts";
import { bootQemu } from "../../src/vmm/qemu.ts";

const skip = jsDepsReady() ? false : "the runtime's archives are not built (./scripts/setup runs scripts/runtime-deps)";

async function jsWorkload(script: string): Promise<string> {
  const prefix = join(repoRoot, "zig-out", `js-Debug-${script.replaceAll("/", "_")}`);
  const r = await run([...zigCommand(), "build", "install", ...(await jsBuildArgs()), `-Djs-script=${script}`, "-p", prefix, "--summary", "none"], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  return join(prefix, "workloads", "js");
}

const programLines = (console: string) => lines(console).filter((l) => !l.startsWith("zigu"));

describe("the JavaScript heap on mem_map", { skip }, () => {
  before(async () => {
    await kernel("Debug");
  });

  for (const accel of accelerators()) {
    test(`allocating past the memory limit is a JavaScript out-of-memory error and status 1, not a fault (${accel.toUpperCase()})`, async () => {
      // 32 MiB: the runtime maps the engine's 16 MiB stack from the same limit (runtime/js/main.zig).
      const r = await boot(accel, "zigu.workload=initrd zigu.caps=log,time zigu.memory_limit_mib=32", { initrd: await jsWorkload("tests/js/oom.js"), memMiB: 64, timeoutMs: 60_000 });
      assert.deepEqual(programLines(r.console).slice(0, 3), ["allocating", "4 MiB held", "error: Uncaught InternalError: out of memory"], r.console);
      assert.doesNotMatch(r.console, /never: allocated|workload fault|panic/, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 1 }, r.console);
    });
  }

  // Known problem, not this runtime's heap: QuickJS-NG makes every InternalError, "out of memory"
  // included, uncatchable (quickjs.c, JS_ThrowInternalError), and runtime.c's report_and_exit
  // takes any uncatchable error for process.exit(): an out-of-memory error outside the module's
  // own evaluation (a callback; a TypeScript program, which runs inside the bundle's wrapper)
  // ends the workload with status 0 and prints nothing.
  test("allocating past the limit in a callback is out of memory and status 1 too", async () => {
    const accel = accelerators()[0]!;
    const r = await boot(accel, "zigu.workload=initrd zigu.caps=log,time zigu.memory_limit_mib=32", { initrd: await jsWorkload("tests/js/oom-callback.js"), memMiB: 64, timeoutMs: 60_000 });
    assert.deepEqual(programLines(r.console).slice(0, 2), ["allocating in a callback", "error: Uncaught InternalError: out of memory"], r.console);
    assert.deepEqual(r.end, { kind: "exit", status: 1 }, r.console);
  });

  test("a program runs in a 16 MiB guest, under the memory limit of its root image's policy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zigu-js-mem-"));
    writeFileSync(join(dir, "policy"), "log,time\nmemory_limit_mib=8\n");
    writeFileSync(join(dir, "workload.elf"), readFileSync(await jsWorkload("runtime/js/hello.js")));
    writeFileSync(join(dir, "main.js"), 'await new Promise((r) => setTimeout(r, 5));\nconsole.log("small", [1, 2, 3].map((x) => x * 2));\n');
    const image = join(dir, "rootfs.img");
    await createTar({ file: image, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, ["policy", "workload.elf", "main.js"]);
    const k = await kernel("Debug");
    for (const accel of accelerators()) {
      const r = await bootQemu({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=disk zigu.verbose=1", accel, drive: image, memMiB: 16, timeoutMs: 60_000 });
      assert.match(r.console, /\(root image, policy "log,time", memory limit 8 MiB\)/, r.console);
      assert.deepEqual(programLines(r.console), ["small [ 2, 4, 6 ]"], r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    }
  });

  test("a policy file with an unknown key or a bad limit stops the boot with a clear panic", async () => {
    const k = await kernel("Debug");
    const elf = readFileSync(join(k.workloadsDir, "hello"));
    for (const [policy, message] of [
      ["log\nswap=1\n", /zigu: panic: root image: policy file: UnknownPolicyKey/],
      ["log\nmemory_limit_mib=0\n", /zigu: panic: memory limit "0" \(root image\): expected MiB, 1 to 16384/],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), "zigu-policy-"));
      writeFileSync(join(dir, "policy"), policy);
      writeFileSync(join(dir, "workload.elf"), elf);
      const image = join(dir, "rootfs.img");
      await createTar({ file: image, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, ["policy", "workload.elf"]);
      const r = await bootQemu({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=disk", accel: "tcg", drive: image, timeoutMs: 30_000 });
      assert.match(r.console, message, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 255 }, r.console);
    }
  });
});
