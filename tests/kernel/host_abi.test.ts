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

const smoke = (caps: string | undefined, memoryLimitMib?: string) => {
  const env = { ...process.env };
  delete env.UKERNEL_CAPS;
  delete env.UKERNEL_MEMORY_LIMIT_MIB;
  if (caps !== undefined) env.UKERNEL_CAPS = caps;
  if (memoryLimitMib !== undefined) env.UKERNEL_MEMORY_LIMIT_MIB = memoryLimitMib;
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

test("UKERNEL_MEMORY_LIMIT_MIB bounds mem_map as the kernel's limit does: over it is no_space", async () => {
  const unlimited = await smoke("log,time,random,task");
  assert.match(unlimited.stdout, /^abi_smoke: mem_map 2 MiB times 8$/m, unlimited.stdout);
  const limited = await smoke("log,time,random,task", "5");
  assert.match(limited.stdout, /^abi_smoke: mem_map 2 MiB times 2$/m, limited.stdout);
  assert.match(limited.stdout, /^abi_smoke: failed 0$/m, limited.stdout);
  assert.equal(limited.exitCode, 0, limited.stdout);
  const bad = await smoke("log", "0");
  assert.match(bad.stdout, /libukernel_abi: UKERNEL_MEMORY_LIMIT_MIB: expected MiB, 1 to 16384/);
  assert.equal(bad.exitCode, 2);
});
