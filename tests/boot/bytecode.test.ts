// The program as QuickJS bytecode compiled on the host (zigu-qjsc: runtime/js/compile.c; the
// format: runtime/js/bytecode.h; the guest's side: runtime/js/load.c), booted from a root image on
// QEMU under TCG and KVM: the same output as Node, stacks that name main.js positions, and a
// damaged file refused with one error line and status 65, never a kernel panic or a hang.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { create as createTar } from "tar";
import { accelerators, kernel, lines } from "./harness.ts";
import { jsDepsReady, repoRoot, zigCommand } from "../../src/zig.ts";
import { jsBuildArgs } from "../../src/runtime-js.ts";
import { run } from "../../src/proc.ts";
import { bootQemu, type Accel, type BootResult } from "../../src/vmm/qemu.ts";
import { compileBytecode, compilerIn } from "../../src/bytecode.ts";
import { UserError } from "../../src/errors.ts";

const skip = jsDepsReady() ? false : "the runtime's archives are not built (./scripts/setup runs scripts/runtime-deps)";
const prefix = join(repoRoot, "zig-out", "js-bytecode");
const headerBytes = 40;

let runtime: Promise<{ workload: Buffer; compiler: string }> | undefined;
/** The js workload (its built-in script is never what runs here) and zigu-qjsc, in one build. */
function jsRuntime(): Promise<{ workload: Buffer; compiler: string }> {
  runtime ??= (async () => {
    const r = await run([...zigCommand(), "build", "install", "js-compiler", "-Doptimize=Debug", ...(await jsBuildArgs()), "-p", prefix, "--summary", "none"], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    return { workload: readFileSync(join(prefix, "workloads", "js")), compiler: compilerIn(prefix) };
  })();
  return runtime;
}

/** `script` (repository-relative) compiled to main.qjbc's bytes. */
async function compile(script: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), "zigu-qjbc-"));
  const out = join(dir, "main.qjbc");
  await compileBytecode((await jsRuntime()).compiler, join(repoRoot, script), out, { moduleName: "main.js", cwd: repoRoot });
  return readFileSync(out);
}

/** A root image of the js workload, its policy and `files`. */
async function image(files: Record<string, Buffer | string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "zigu-qjbc-image-"));
  writeFileSync(join(dir, "policy"), "log,time\n");
  writeFileSync(join(dir, "workload.elf"), (await jsRuntime()).workload);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const file = join(dir, "rootfs.img");
  await createTar({ file, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, ["policy", "workload.elf", ...Object.keys(files)]);
  return file;
}

async function bootImage(accel: Accel, files: Record<string, Buffer | string>): Promise<BootResult> {
  const k = await kernel("Debug");
  return bootQemu({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=disk", accel, drive: await image(files), timeoutMs: 60_000 });
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

/** QuickJS's bc_csum (quickjs.c), which its reader checks: to forge a body that passes it. */
function quickjsChecksum(p: Buffer): number {
  let h = 0;
  let i = 0;
  for (; i + 4 < p.length; i += 4) h = Math.imul((h + p.readUInt32LE(i)) >>> 0, 0x9e370001) >>> 0;
  let tail = 0;
  if (p.length - i <= 3) for (let k = p.length - i - 1; k >= 0; k--) tail = (tail << 8) | p[i + k]!;
  return Math.imul((h + tail) >>> 0, 0x9e370001) >>> 0;
}

/** bytecode.h's FNV-1a of the body, rewritten into the header after a body was changed. */
function rehash(file: Buffer): Buffer {
  let h = 0xcbf29ce484222325n;
  for (const b of file.subarray(headerBytes)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  const out = Buffer.from(file);
  out.writeBigUInt64LE(h, 32);
  return out;
}

function refused(r: BootResult, reason: RegExp): void {
  const out = programLines(r.console);
  assert.equal(out.length, 1, r.console);
  assert.match(out[0]!, /^error: main\.qjbc: .*; rebuild the image \(ukernel build, ukernel pack\)$/, r.console);
  assert.match(out[0]!, reason, r.console);
  assert.deepEqual(r.end, { kind: "exit", status: 65 }, r.console);
  assert.doesNotMatch(r.console, /panic/i, r.console);
}

describe("JavaScript from bytecode compiled on the host", { skip }, () => {
  before(async () => {
    await Promise.all([kernel("Debug"), jsRuntime()]);
  });

  test("zigu-qjsc keeps the engine's format: QuickJS's version byte and checksum after our header", async () => {
    const bc = await compile("tests/js/bytecode.js");
    assert.equal(bc.subarray(0, 8).toString("latin1"), "ZIGUQJBC");
    assert.equal(bc.readUInt32LE(12), bc.length - headerBytes);
    assert.equal(bc.subarray(16, 32).toString("latin1").replace(/\0+$/, ""), "qjs-ng 0.18.0");
    assert.equal(bc[headerBytes], 29);
    assert.equal(bc.readUInt32LE(headerBytes + 1), quickjsChecksum(bc.subarray(headerBytes + 5)));
    assert.deepEqual(rehash(bc), bc);
  });

  test("a syntax error fails the compile with file:line:column and status 1, and the CLI's error names it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zigu-qjbc-bad-"));
    writeFileSync(join(dir, "main.js"), "const a = 1;\nconst b = a +;\n");
    const { compiler } = await jsRuntime();
    const r = await run([compiler, join(dir, "main.js"), join(dir, "main.qjbc"), "main.js"], { timeoutMs: 60_000 });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim(), `${join(dir, "main.js")}:2:14: SyntaxError: unexpected token in expression: ';'`);
    await assert.rejects(compileBytecode(compiler, join(dir, "main.js"), join(dir, "main.qjbc"), { cwd: dir }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /^compiling the bundle to QuickJS bytecode failed:\nmain\.js:2:14: SyntaxError: /);
      return true;
    });
  });

  test("a syntax error in a bundle with a source map names the program's position first", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zigu-qjbc-map-"));
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "main.ts"), "const answer: number = 42;\n\nexport function show(): void {\n  console.log(answer);\n}\nshow();\n");
    const esbuild = await import("esbuild");
    await esbuild.build({ entryPoints: [join(dir, "src", "main.ts")], bundle: true, format: "esm", outfile: join(dir, "main.js"), sourcemap: "external", sourcesContent: false, logLevel: "silent" });
    const map = JSON.parse(readFileSync(join(dir, "main.js.map"), "utf8")) as { sources: string[] };
    map.sources = map.sources.map((s) => relative(dir, join(dir, s)));
    writeFileSync(join(dir, "main.js.map"), JSON.stringify(map));
    // Break the bundle where the map says src/main.ts line 4 is: what QuickJS would refuse there.
    const bundle = readFileSync(join(dir, "main.js"), "utf8").split("\n");
    const line = bundle.findIndex((l) => l.includes("console.log(answer)"));
    bundle[line] = bundle[line]!.replace("console.log(answer)", "console.log(answer;");
    writeFileSync(join(dir, "main.js"), bundle.join("\n"));
    const { compiler } = await jsRuntime();
    await assert.rejects(compileBytecode(compiler, join(dir, "main.js"), join(dir, "main.qjbc"), { cwd: dir }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, new RegExp(`^compiling the bundle to QuickJS bytecode failed:\nsrc/main\.ts:4:\\d+: SyntaxError: .* \\(bundle main\\.js:${line + 1}:\\d+\\)$`));
      return true;
    });
  });

  for (const accel of accelerators()) {
    test(`a program run from bytecode prints what Node prints (${accel.toUpperCase()})`, async () => {
      const r = await bootImage(accel, { "main.qjbc": await compile("tests/js/bytecode.js") });
      assert.deepEqual(programLines(r.console), nodeOutput("tests/js/bytecode.js"), r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    test(`an uncaught exception from bytecode names main.js positions, and main.qjbc wins over main.js (${accel.toUpperCase()})`, async () => {
      const r = await bootImage(accel, { "main.qjbc": await compile("tests/js/throws.js"), "main.js": 'console.log("the source ran");\n' });
      const out = programLines(r.console);
      assert.equal(out[0], "before", r.console);
      assert.equal(out[1], "error: Uncaught TypeError: boom", r.console);
      assert.match(out[2] ?? "", /^error: {5}at inner \(main\.js:5:\d+\)$/, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 1 }, r.console);
    });

    test(`damaged bytecode ends with one error line and 65: truncated, flipped, empty (${accel.toUpperCase()})`, async () => {
      const bc = await compile("tests/js/bytecode.js");
      refused(await bootImage(accel, { "main.qjbc": Buffer.alloc(0) }), /truncated \(0 bytes/);
      refused(await bootImage(accel, { "main.qjbc": bc.subarray(0, bc.length >> 1) }), /truncated \(the header gives \d+ bytes of bytecode, the file holds \d+\)/);
      const flipped = Buffer.from(bc);
      flipped[flipped.length - 1]! ^= 0x40; // the last byte: QuickJS's own checksum may not cover it
      refused(await bootImage(accel, { "main.qjbc": flipped }), /damaged \(its hash does not match its bytes\)/);
    });
  }

  // One accelerator for the long list (TCG when it is allowed: it boots this image fastest here).
  test("every kind of damage is refused before the engine runs a byte of it", async (t) => {
    const accel = accelerators()[0]!;
    const bc = await compile("tests/js/bytecode.js");
    const cases: [string, Buffer | string, RegExp][] = [];
    cases.push(["source under the bytecode's name", 'console.log("JavaScript source, not bytecode");\n', /not Zigu bytecode \(no ZIGUQJBC magic\)/]);
    cases.push(["a header and no body", bc.subarray(0, headerBytes + 2), /truncated \(42 bytes; the smallest is 45\)/]);
    cases.push(["trailing bytes", Buffer.concat([bc, Buffer.from("extra")]), /has trailing bytes/]);
    const format = Buffer.from(bc);
    format.writeUInt32LE(2, 8);
    cases.push(["a newer header format", format, /header format 2, this runtime reads 1/]);
    const engine = Buffer.from(bc);
    engine.write("qjs-ng 0.17.0", 16, "latin1");
    cases.push(["another engine", engine, /compiled by "qjs-ng 0\.17\.0", this runtime is qjs-ng 0\.18\.0/]);
    const version = Buffer.from(bc);
    version[headerBytes] = 28;
    cases.push(["another bytecode version", rehash(version), /bytecode version 28, this runtime reads 29/]);
    const hatch = Buffer.from(bc);
    hatch.writeUInt32LE(0xffffffff, headerBytes + 1);
    cases.push(["QuickJS's checksum turned off", rehash(hatch), /turns QuickJS's check off/]);
    for (const at of [9, 13, 20, 33, headerBytes, headerBytes + 3, headerBytes + 40, bc.length >> 1]) {
      const b = Buffer.from(bc);
      b[at]! ^= 0x01;
      cases.push([`byte ${at} flipped`, b, /magic|format|truncated|trailing|compiled by|damaged/]);
    }
    const body = Buffer.from(bc);
    body[headerBytes + 60]! ^= 0xff;
    cases.push(["QuickJS's checksum wrong", rehash(body), /unreadable bytecode \(SyntaxError: checksum error\)/]);
    for (const [what, bytes, reason] of cases) {
      await t.test(what, async () => refused(await bootImage(accel, { "main.qjbc": bytes }), reason));
    }
  });

  test("a body forged past every check is the workload's problem, not the kernel's: it ends, no panic", async () => {
    const accel = accelerators()[0]!;
    const bc = await compile("tests/js/bytecode.js");
    const results: string[] = [];
    for (const at of [0.3, 0.5, 0.7, 0.9]) {
      const b = Buffer.from(bc);
      const i = headerBytes + 5 + Math.floor((b.length - headerBytes - 5) * at);
      b[i]! ^= 0x5a;
      b.writeUInt32LE(quickjsChecksum(b.subarray(headerBytes + 5)), headerBytes + 1);
      const r = await bootImage(accel, { "main.qjbc": rehash(b) });
      assert.equal(r.timedOut, false, r.console);
      assert.doesNotMatch(r.console, /panic/i, r.console);
      assert.equal(r.end.kind, "exit", r.console);
      results.push(`byte ${i}: ${programLines(r.console).at(-1) ?? ""} (exit ${r.end.kind === "exit" ? r.end.status : "?"})`);
    }
    console.log(results.join("\n"));
  });
});
