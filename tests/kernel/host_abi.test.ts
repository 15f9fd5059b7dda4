// libukernel_abi.so: the ABI on the host, driven by tests/kernel/abi_smoke.c through the C header
// (the same source also runs inside a microVM: tests/boot/qemu.test.ts).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join, dirname } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../../src/proc.ts";
import { repoRoot, zigCommand, buildKernel } from "../../src/zig.ts";

let exe = "";
let libDir = "";

before(async () => {
  const b = await buildKernel("Debug");
  libDir = join(dirname(b.kernel), "..", "lib");
  exe = join(mkdtempSync(join(tmpdir(), "zigu-smoke-")), "abi_smoke");
  const cc = await run(
    [...zigCommand(), "cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Iinclude", "tests/kernel/abi_smoke.c", `-L${libDir}`, "-lukernel_abi", `-Wl,-rpath,${libDir}`, "-o", exe],
    { cwd: repoRoot, timeoutMs: 10 * 60_000 },
  );
  assert.equal(cc.exitCode, 0, cc.stderr);
});

const smoke = (caps: string | undefined) => {
  const env = { ...process.env };
  delete env.UKERNEL_CAPS;
  if (caps !== undefined) env.UKERNEL_CAPS = caps;
  return run([exe], { env, timeoutMs: 30_000 });
};

test("abi_smoke.c passes against libukernel_abi.so with the policy log,time,random,task", async () => {
  const r = await smoke("log,time,random,task");
  assert.match(r.stdout, /^abi_smoke: passed (\d+)$/m);
  assert.match(r.stdout, /^abi_smoke: failed 0$/m);
  assert.match(r.stdout, /^abi_smoke: ok$/m);
  assert.equal(r.exitCode, 0, r.stdout);
});

test("without a policy the host library refuses every capability, as the kernel does", async () => {
  const r = await smoke(undefined);
  assert.equal(r.stdout, "", "nothing may be logged without CAP_LOG");
  assert.equal(r.exitCode, 1);
});

test("an unknown capability in UKERNEL_CAPS stops the program with a clear message", async () => {
  const r = await smoke("log,disk");
  assert.match(r.stdout, /libukernel_abi: UKERNEL_CAPS: unknown capability \(known: log, time, task, io, net, random\)/);
  assert.equal(r.exitCode, 2);
});
