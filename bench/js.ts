/**
 * TypeScript in the microVM (part of `npm run bench`): the TypeScript sample of `ukernel init`,
 * packed with the release kernel, booted from VMM process start to exit, alternating with the
 * minimal PVH stub in the same run (ratio of medians); the image size; the smallest guest memory
 * it runs in; a small CPU benchmark (JSON round trip, a numeric loop, string building) timed
 * inside the guest against the same engine built for the host (bench/js/qjs-host.c) and Node; and the cold start of a
 * ~200 KB program from its source (main.js, parsed in the guest) against its bytecode (main.qjbc,
 * compiled on the host by `ukernel build`; and with --strip-source), booted alternately.
 * `tsx bench/js.ts [rounds] [bytecode]`: `bytecode` runs only that last part.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { run } from "../src/proc.ts";
import { buildKernel, jsDepsReady, releaseOptimize, repoRoot, zigCommand } from "../src/zig.ts";
import { bootQemu, kvmUsable, type Accel, type BootResult } from "../src/vmm/qemu.ts";
import { bootFirecracker, firecrackerVersion } from "../src/vmm/firecracker.ts";
import { createSnapshot, restoreSnapshot } from "../src/vmm/snapshot.ts";
import { loadProject } from "../src/config.ts";
import { pack } from "../src/commands/pack.ts";
import { create as createTar } from "tar";
import { compileBytecode, compilerIn } from "../src/bytecode.ts";

const rounds = Number(process.argv[2] ?? 9);
const cli = join(repoRoot, "bin", "ukernel.js");
const timeoutMs = 120_000;

type Boot = (o: { kernel: string; cmdline: string; drive?: string; memMiB?: number }) => Promise<BootResult>;
const platforms: { name: string; boot: Boot }[] = [];
const qemu = (accel: Accel): Boot => (o) => bootQemu({ ...o, accel, timeoutMs });
platforms.push({ name: "qemu-tcg", boot: qemu("tcg") });
if (kvmUsable()) platforms.push({ name: "qemu-kvm", boot: qemu("kvm") });
const fc = firecrackerVersion();
if (fc && kvmUsable()) platforms.push({ name: `firecracker-${fc}`, boot: (o) => bootFirecracker({ ...o, timeoutMs }) });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const cpuScript = `
const t0 = Date.now();
let json = 0;
for (let i = 0; i < 2000; i++) json += JSON.stringify(JSON.parse(JSON.stringify({ i, a: [1, 2.5, "x".repeat(20)], o: { d: i / 3 } }))).length;
const t1 = Date.now();
let acc = 0;
for (let i = 1; i < 3_000_000; i++) acc += Math.sqrt(i) % 7;
const t2 = Date.now();
let s = "";
for (let i = 0; i < 100_000; i++) s += String.fromCharCode(97 + (i % 26));
const t3 = Date.now();
console.log("cpu", t1 - t0, t2 - t1, t3 - t2, json, Math.round(acc), s.length);
`;

async function project(source: string): Promise<{ projectDir: string; kernel: string; rootfs: string; cmdline: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ukernel-bench-js-"));
  const init = await run(["node", cli, "init", dir, "--runtime", "typescript"], { timeoutMs: 60_000 });
  if (init.exitCode !== 0) throw new Error(init.stderr);
  if (source) writeFileSync(join(dir, "src", "main.ts"), source);
  return { projectDir: dir, ...(await pack(loadProject(dir), { release: true, progress: () => {} })) };
}

/** A program of about `bytes` bytes of bundle: `n` functions, classes and object literals, all used. */
function bigProgram(bytes: number): string {
  const unit = (i: number) => `
function step${i}(x: number): number {
  const o = { id: ${i}, name: "unit-${i}", tags: ["a${i}", "b${i}"], scale: ${(i % 7) + 1} };
  return x + o.id * o.scale + o.name.length + o.tags.join("").length;
}
class Acc${i} {
  total = 0;
  add(v: number): this { this.total += v % ${(i % 13) + 2}; return this; }
}
`;
  const units = Math.ceil(bytes / unit(0).length);
  // The guest's clock when the module's first line runs: everything before it is loading the program.
  let src = "const firstLineMs = process.uptime() * 1000;\n";
  for (let i = 0; i < units; i++) src += unit(i);
  src += "let sum = 0;\n";
  for (let i = 0; i < units; i++) src += `sum = step${i}(sum) % 1000003; new Acc${i}().add(sum);\n`;
  return `${src}console.log("big", ${units}, sum, Math.round(firstLineMs * 1000));\n`;
}

async function main(): Promise<void> {
  if (!jsDepsReady()) {
    console.log("\nTypeScript in the microVM: skipped (./scripts/setup builds the runtime's archives)");
    return;
  }
  if (process.argv[3] === "bytecode") return sourceVsBytecode();
  const stub = (await buildKernel(releaseOptimize)).stub;
  const hello = await project("");
  const bytes = statSync(hello.kernel).size + statSync(hello.rootfs).size;
  console.log(`\nTypeScript hello in the microVM (${releaseOptimize} kernel; ${rounds} alternating rounds, median)`);
  console.log(`  image: kernel ${statSync(hello.kernel).size} B + root image ${statSync(hello.rootfs).size} B = ${(bytes / 1048576).toFixed(2)} MiB`);
  for (const p of platforms) {
    const ts: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await p.boot({ kernel: hello.kernel, cmdline: hello.cmdline, drive: hello.rootfs });
      if (r.end.kind !== "exit" || r.end.status !== 0) throw new Error(`${p.name}: TypeScript hello failed:\n${r.console}`);
      ts.push(r.wallMs);
      const s = await p.boot({ kernel: stub, cmdline: "console=ttyS0" });
      base.push(s.wallMs);
    }
    console.log(`  ${p.name.padEnd(20)} hello ${median(ts).toFixed(1)} ms, stub ${median(base).toFixed(1)} ms: ${(median(ts) / median(base)).toFixed(2)}x`);
  }
  // Firecracker: the same hello started from a snapshot at the runtime's ready point (as
  // `ukernel run --snapshot` does), beside its cold boot and the stub, alternating.
  if (fc && kvmUsable()) {
    const root = mkdtempSync(join(tmpdir(), "zigu-bench-js-snap-"));
    const snap = await createSnapshot(root, { kernel: hello.kernel, cmdline: hello.cmdline, drive: hello.rootfs, memMiB: 256 }, { timeoutMs });
    const fcBoot = platforms.find((p) => p.name.startsWith("firecracker"))!.boot;
    const restored: number[] = [];
    const cold: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await restoreSnapshot(snap, { timeoutMs });
      if (r.end.kind !== "exit" || r.end.status !== 0) throw new Error(`TypeScript hello from a snapshot failed:\n${r.console}`);
      restored.push(r.wallMs);
      cold.push((await fcBoot({ kernel: hello.kernel, cmdline: hello.cmdline, drive: hello.rootfs })).wallMs);
      base.push((await fcBoot({ kernel: stub, cmdline: "console=ttyS0" })).wallMs);
    }
    rmSync(root, { recursive: true, force: true });
    console.log(`  ${`firecracker-${fc}`.padEnd(20)} hello from a snapshot ${median(restored).toFixed(1)} ms, cold ${median(cold).toFixed(1)} ms, stub ${median(base).toFixed(1)} ms: ${(median(restored) / median(base)).toFixed(2)}x the stub, ${(median(restored) / median(cold)).toFixed(2)}x the cold boot`);
  }
  // Smallest guest memory that still runs it (the heap and the engine's stack come from mem_map).
  const boot = platforms.at(-1)!.boot;
  let smallest = 0;
  for (const mib of [256, 128, 64, 48, 32, 24, 20, 16, 14, 12, 10, 8]) {
    const r = await boot({ kernel: hello.kernel, cmdline: hello.cmdline, drive: hello.rootfs, memMiB: mib });
    if (r.end.kind === "exit" && r.end.status === 0) smallest = mib;
    else break;
  }
  console.log(`  smallest memory_mib that runs it: ${smallest} MiB`);
  // CPU: the same script in the guest and under Node.
  const cpu = await project(cpuScript);
  const r = await boot({ kernel: cpu.kernel, cmdline: cpu.cmdline, drive: cpu.rootfs });
  const guest = /^cpu (\d+) (\d+) (\d+)/m.exec(r.console);
  const dir = mkdtempSync(join(tmpdir(), "bench-node-"));
  writeFileSync(join(dir, "cpu.mjs"), cpuScript);
  const node = /^cpu (\d+) (\d+) (\d+)/m.exec(execFileSync(process.execPath, [join(dir, "cpu.mjs")], { encoding: "utf8" }));
  const hostQjs = await qjsHost();
  const host = /^cpu (\d+) (\d+) (\d+)/m.exec(execFileSync(hostQjs, [join(dir, "cpu.mjs")], { encoding: "utf8" }));
  if (!guest || !node || !host) throw new Error(`cpu benchmark failed:\n${r.console}`);
  const names = ["JSON round trip", "numeric loop", "string building"];
  const ratio = (a: string, b: string) => (Number(a) / Math.max(1, Number(b))).toFixed(2);
  console.log(`  CPU, ms in the guest (QuickJS-NG, ${platforms.at(-1)!.name}) vs the same engine on the host vs Node ${process.versions.node}:`);
  names.forEach((n, i) => console.log(`    ${n.padEnd(16)} ${guest[i + 1]} vs ${host[i + 1]} (${ratio(guest[i + 1]!, host[i + 1]!)}x) vs Node ${node[i + 1]} (${ratio(guest[i + 1]!, node[i + 1]!)}x)`));
  await sourceVsBytecode();
}

/** bench/js/qjs-host.c with the guest's engine sources (patched, as scripts/runtime-deps compiles
 * them) and engine flags, built for the host by the pinned zig; rebuilt when missing. */
async function qjsHost(): Promise<string> {
  const qj = join(repoRoot, ".deps", "src", "libquickjs-ng-sys-0.14.0", "embed", "quickjs");
  const patched = join(repoRoot, ".deps", "obj", "patched", "quickjs", "quickjs.c");
  const sources = [existsSync(patched) ? patched : join(qj, "quickjs.c"), ...["libregexp.c", "libunicode.c", "dtoa.c"].map((f) => join(qj, f))];
  const main = join(repoRoot, "bench", "js", "qjs-host.c");
  const key = createHash("sha256").update(readFileSync(main)).update(readFileSync(sources[0]!)).digest("hex").slice(0, 12);
  const out = join(repoRoot, "zig-out", "bench", `qjs-host-${key}`);
  if (existsSync(out)) return out;
  mkdirSync(join(out, ".."), { recursive: true });
  const r = await run([...zigCommand(), "cc", "-O2", "-std=gnu11", "-funsigned-char", "-D_GNU_SOURCE", "-DQUICKJS_NG_BUILD", "-D__STDC_NO_ATOMICS__=1", "-DNDEBUG", "-w", `-I${qj}`, main, ...sources, "-lm", "-o", out], { cwd: repoRoot, timeoutMs: 10 * 60_000 });
  if (r.exitCode !== 0) throw new Error(`building qjs-host failed:\n${r.stderr}`);
  return out;
}

/**
 * The same ~200 KB program booted alternately from main.js (parsed at boot), from main.qjbc (what
 * `ukernel build` makes: functions' source kept) and from main.qjbc compiled with --strip-source:
 * VMM start to exit, and inside the guest the time from the workload's first instruction (the
 * kernel's `boot N us`) to the program's first line (its process.uptime() there).
 */
async function sourceVsBytecode(): Promise<void> {
  const big = await project(bigProgram(200_000));
  const build = join(big.projectDir, ".ukernel", "build", "release");
  const stripped = join(build, "stripped.qjbc");
  await compileBytecode(compilerIn(build), join(build, "main.js"), stripped, { cwd: build, stripSource: true });
  const image = async (file: string): Promise<string> => {
    const staging = mkdtempSync(join(tmpdir(), "bench-js-image-"));
    const name = file.endsWith(".js") ? "main.js" : "main.qjbc";
    writeFileSync(join(staging, "policy"), `${loadProject(big.projectDir).config.capabilities.allow.join(",")}\n`);
    writeFileSync(join(staging, "workload.elf"), readFileSync(join(build, "workloads", "js")));
    writeFileSync(join(staging, name), readFileSync(file));
    await createTar({ file: join(staging, "rootfs.img"), cwd: staging, portable: true, mtime: new Date(0), noDirRecurse: true }, ["policy", "workload.elf", name]);
    return join(staging, "rootfs.img");
  };
  const variants = [
    { name: "source", file: join(build, "main.js") },
    { name: "bytecode", file: join(build, "main.qjbc") },
    { name: "stripped", file: stripped },
  ];
  const drives = await Promise.all(variants.map((v) => image(v.file)));
  const kb = (f: string) => `${(statSync(f).size / 1024).toFixed(0)} KB`;
  console.log(`\nA ${kb(variants[0]!.file)} bundle from source (main.js), from bytecode (main.qjbc, ${kb(variants[1]!.file)}) and from bytecode without functions' source (--strip-source, ${kb(variants[2]!.file)}): VMM start to exit (${rounds} alternating rounds, median)`);
  for (const p of platforms) {
    const times: number[][] = variants.map(() => []);
    const loads: number[][] = variants.map(() => []);
    for (let i = 0; i < rounds; i++) {
      for (const [k, drive] of drives.entries()) {
        const r = await p.boot({ kernel: big.kernel, cmdline: big.cmdline, drive });
        const line = /^big \d+ \d+ (\d+)$/m.exec(r.console);
        const boot = /boot (\d+) us/.exec(r.console);
        if (r.end.kind !== "exit" || r.end.status !== 0 || !line || !boot) throw new Error(`${p.name}: the big program failed (${variants[k]!.name}):\n${r.console}`);
        times[k]!.push(r.wallMs);
        loads[k]!.push((Number(line[1]) - Number(boot[1])) / 1000);
      }
    }
    const [src, bc, st] = times.map(median) as [number, number, number];
    const [lsrc, lbc, lst] = loads.map(median) as [number, number, number];
    console.log(`  ${p.name.padEnd(20)} VMM start to exit: source ${src.toFixed(1)} ms, bytecode ${bc.toFixed(1)} ms, stripped ${st.toFixed(1)} ms`);
    console.log(`  ${"".padEnd(20)} workload start to the program's first line: source ${lsrc.toFixed(1)} ms, bytecode ${lbc.toFixed(1)} ms, stripped ${lst.toFixed(1)} ms`);
  }
}

await main();
