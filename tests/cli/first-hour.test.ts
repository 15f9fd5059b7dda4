// A new user's first hour (issue #17), end to end with the built CLI: `ukernel` installed as a
// command and run from a folder that is not the checkout, the project found from a subfolder,
// a damaged dist/ repacked, the VMM's own error shown, VM-only keys rebuilding nothing, the
// adapter reusing its library and type-checking, and the small refusals.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../../src/proc.ts";
import { jsDepsReady, repoRoot } from "../../src/zig.ts";

const cli = join(repoRoot, "bin", "ukernel.js");
const skipJs = !jsDepsReady() && "the runtime's archives are not built (./scripts/setup)";

function ukernel(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return run(["node", cli, ...args], { cwd, env, timeoutMs: 15 * 60_000 });
}

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = join(dir, file);
  const text = readFileSync(p, "utf8");
  const next = text.replace(from, to);
  assert.notEqual(next, text, `${file}: nothing replaced`);
  writeFileSync(p, next);
}

describe("ukernel as an installed command", { skip: skipJs }, () => {
  test("npm install -g of the checkout: init, then run from the project's src folder, outside the checkout", async () => {
    const prefix = mkdtempSync(join(tmpdir(), "ukernel-global-"));
    const install = await run(["npm", "install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", repoRoot], { timeoutMs: 5 * 60_000 });
    assert.equal(install.exitCode, 0, install.stderr);
    const bin = join(prefix, "bin");
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const home = mkdtempSync(join(tmpdir(), "ukernel-home-"));
    const version = await run(["ukernel", "--version"], { cwd: home, env, timeoutMs: 60_000 });
    assert.equal(version.exitCode, 0, version.stderr);
    assert.match(version.stdout, /^ukernel \d+\.\d+\.\d+ \(Zigu kernel \d+\.\d+\.\d+, ABI \d+; /);
    const init = await run(["ukernel", "init", "app"], { cwd: home, env, timeoutMs: 60_000 });
    assert.equal(init.exitCode, 0, init.stderr);
    // The next step it names is a command that works: `ukernel` is on PATH now.
    assert.match(init.stdout, /^next: cd \S+app && ukernel run$/m);
    assert.deepEqual(readFileSync(join(home, "app", ".gitignore"), "utf8").split("\n").filter(Boolean), [".ukernel/", "dist/", ".remote"]);
    const r = await run(["ukernel", "run"], { cwd: join(home, "app", "src"), env, timeoutMs: 15 * 60_000 });
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^hello from a Zigu workload$/m);
    rmSync(prefix, { recursive: true, force: true });
  });

  test("scripts/ukernel works through a symlink on PATH; without ukernel on PATH, init names the full command", async () => {
    const bin = mkdtempSync(join(tmpdir(), "ukernel-bin-"));
    symlinkSync(join(repoRoot, "scripts", "ukernel"), join(bin, "uk"));
    const dir = mkdtempSync(join(tmpdir(), "ukernel-sym-"));
    const v = await run([join(bin, "uk"), "--version"], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(v.exitCode, 0, v.stderr);
    const path = (process.env.PATH ?? "").split(":").filter((d) => !existsSync(join(d, "ukernel"))).join(":");
    const init = await run([process.execPath, cli, "init", "."], { cwd: dir, env: { ...process.env, PATH: path }, timeoutMs: 60_000 });
    assert.equal(init.exitCode, 0, init.stderr);
    assert.ok(init.stdout.includes(`&& node ${cli} run`), init.stdout);
    assert.match(init.stderr, /ukernel is not on PATH: install the command with `npm link`/);
  });
});

describe("a new user's mistakes and repairs", { skip: skipJs }, () => {
  test("init refuses the Zigu checkout; commands find ukernel.toml from a subfolder and say so when there is none", async () => {
    const inside = await ukernel(["init", "scratch-app"], repoRoot);
    assert.equal(inside.exitCode, 2);
    assert.match(inside.stderr, /is inside the Zigu checkout .*: a project needs a folder of its own/);
    assert.ok(!existsSync(join(repoRoot, "scratch-app")), "init wrote into the checkout");
    const none = mkdtempSync(join(tmpdir(), "ukernel-none-"));
    const r = await ukernel(["build"], none);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /no ukernel\.toml in \S+ or any folder above it/);
  });

  test("a truncated image or a deleted kernel is packed again; a VM-only key rebuilds nothing; the VMM's own error is shown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ukernel-repair-"));
    assert.equal((await ukernel(["init", "."], dir)).exitCode, 0);
    const first = await ukernel(["pack"], dir);
    assert.equal(first.exitCode, 0, first.stderr);
    const dist = join(dir, "dist", dir.split("/").at(-1)!.toLowerCase().replace(/[^a-z0-9_-]/g, "-"));
    truncateSync(join(dist, "rootfs.img"), 0);
    const repacked = await ukernel(["pack"], dir);
    assert.match(repacked.stderr, /repacking .*a packed file is missing or was changed/);
    const ran = await ukernel(["run"], dir);
    assert.equal(ran.exitCode, 0, ran.stdout + ran.stderr);
    rmSync(join(dist, "zigu.elf"));
    const again = await ukernel(["run"], dir);
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    // accel and timeout are the run's: the build and the pack stay as they are.
    edit(dir, "ukernel.toml", "timeout_s = 60", "timeout_s = 50");
    const b = await ukernel(["build"], dir);
    assert.match(b.stderr, /up to date/);
    const p = await ukernel(["pack"], dir);
    assert.match(p.stderr, /up to date/);
    // A QEMU that fails to start the VM (as it does when the host cannot give the guest its
    // memory): its own words are shown, not only "no exit status". A stand-in binary on PATH
    // fails the way QEMU does; nothing else in this test is stood in for.
    const bin = mkdtempSync(join(tmpdir(), "ukernel-failing-qemu-"));
    writeFileSync(join(bin, "qemu-system-x86_64"), `#!/bin/sh\n[ "$1" = --version ] && { echo "QEMU emulator version 9.2.0"; exit 0; }\necho "qemu-system-x86_64: cannot set up guest memory 'microvm.ram': Cannot allocate memory" >&2\nexit 1\n`, { mode: 0o755 });
    const bad = await ukernel(["run"], dir, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    assert.equal(bad.exitCode, 1, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /QEMU exited with status 1, saying:\nqemu-system-x86_64: cannot set up guest memory 'microvm\.ram': Cannot allocate memory/);
  });

  test("ukernel adapter builds its library once, and type-checks TypeScript", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ukernel-adapter-"));
    assert.equal((await ukernel(["init", "."], dir)).exitCode, 0);
    const first = await ukernel(["adapter"], dir);
    assert.equal(first.exitCode, 0, first.stderr);
    const second = await ukernel(["adapter"], dir);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /building libukernel_abi\.so/, "an up-to-date library was built again");
    appendFileSync(join(dir, "src", "main.ts"), "\nconst y: string = 5;\nexport { y };\n");
    const typeError = await ukernel(["adapter"], dir);
    assert.equal(typeError.exitCode, 1, typeError.stderr);
    assert.match(typeError.stderr, /type check failed:\nsrc\/main\.ts\(\d+,7\): error TS2322/);
  });

  test("a checkout that was never set up says to run ./scripts/setup, not ERR_MODULE_NOT_FOUND", async () => {
    const fake = mkdtempSync(join(tmpdir(), "zigu-unset-"));
    mkdirSync(join(fake, "bin"));
    copyFileSync(cli, join(fake, "bin", "ukernel.js"));
    const r = await run([process.execPath, join(fake, "bin", "ukernel.js"), "--version"], { cwd: fake, timeoutMs: 60_000 });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^error: the Zigu checkout at \S+ is not set up \(no node_modules\)\nhint: run \.\/scripts\/setup there/);
  });

  test("with no Zig set up, the pinned one is installed from PyPI into the user's cache on first use, with progress, once", async () => {
    const cache = mkdtempSync(join(tmpdir(), "zigu-cache-"));
    const probe = join(cache, "probe.mts");
    writeFileSync(probe, `import { zigCommand } from ${JSON.stringify(join(repoRoot, "src", "zig.ts"))};\nconsole.log(JSON.stringify(zigCommand()));\n`);
    const env = { ...process.env, ZIGU_ZIG: "install", ZIGU_CACHE: cache };
    const first = await run([process.execPath, "--import", "tsx", probe], { cwd: repoRoot, env, timeoutMs: 10 * 60_000 });
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stderr, /^\[ukernel\] Zig 0\.17\.0 not found: installing it from PyPI \(ziglang==0\.17\.0\) into \S+zig-0\.17\.0, once/m);
    const command = JSON.parse(first.stdout.trim().split("\n").at(-1)!) as string[];
    assert.ok(command[0]!.startsWith(cache), command.join(" "));
    const version = await run([...command, "version"], { timeoutMs: 60_000 });
    assert.equal(version.stdout.trim(), "0.17.0");
    const second = await run([process.execPath, "--import", "tsx", probe], { cwd: repoRoot, env, timeoutMs: 60_000 });
    assert.equal(second.exitCode, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /installing/, "installed a second time");
    rmSync(cache, { recursive: true, force: true });
  });

  test("npm run boot refuses an unknown workload on the host, naming the built-in ones", async () => {
    const r = await run([process.execPath, "--import", "tsx", join(repoRoot, "src", "tools", "boot.ts"), "--workload", "nope"], { cwd: repoRoot, timeoutMs: 60_000 });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /--workload nope: no such built-in workload\nhint: built in: hello, .*snapshot/);
  });
});
