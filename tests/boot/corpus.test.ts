// The corpus of issue 14: each TypeScript program in tests/corpus/ is built and packed by the
// CLI's own code (one project, its src/main.ts swapped per program: tsc, esbuild, the QuickJS
// bytecode, the root image), booted on QEMU microvm under every accelerator, and its output is
// compared line by line with the same bundle's under Node. A difference fails the test, listed
// per program with its first differing lines, unless it is in `knownDifferences` below (what the
// language leaves to the engine, also listed in docs/javascript.md).
//
// Node's stderr becomes "error: " lines on stdout here, in order, because that is what the guest
// prints: the runtime writes stderr lines at the log call's error level, which the kernel prefixes.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accelerators } from "./harness.ts";
import { jsDepsReady, repoRoot } from "../../src/zig.ts";
import { run } from "../../src/proc.ts";
import { bootQemu, type Accel } from "../../src/vmm/qemu.ts";
import { init } from "../../src/commands/init.ts";
import { build } from "../../src/commands/build.ts";
import { pack } from "../../src/commands/pack.ts";
import { loadProject } from "../../src/config.ts";

const skip = jsDepsReady() ? false : "the runtime's archives are not built (./scripts/setup runs scripts/runtime-deps)";
const corpusDir = join(repoRoot, "tests", "corpus");
/** Every program, or those ZIGU_CORPUS names (comma-separated, e.g. ZIGU_CORPUS=bigint,webapis). */
const programs = readdirSync(corpusDir).filter((f) => f.endsWith(".ts")).sort().map((f) => f.slice(0, -".ts".length))
  .filter((name) => !process.env.ZIGU_CORPUS || process.env.ZIGU_CORPUS.split(",").includes(name));

/** A line both sides may print differently because the language leaves it to the engine. */
interface KnownDifference {
  program: string;
  /** Lines matching this are left out of both outputs before they are compared. */
  line: RegExp;
  reason: string;
}

/**
 * Differences the language allows (docs/javascript.md lists them for users). Never a runtime bug:
 * wrong formatting, a wrong order or a missing API must fail the test. The corpus is written to
 * avoid engine-specific output (error names, not V8's message texts; no stacks; only ISO dates to
 * Date.parse; integer radix conversions), so this list is short.
 */
const knownDifferences: KnownDifference[] = [
  {
    program: "proxy-reflect",
    line: /^for-in -> /,
    reason: "for-in over a Proxy: EnumerateObjectProperties leaves the order of the ownKeys and getPrototypeOf traps unspecified (V8 asks ownKeys first, QuickJS getPrototypeOf)",
  },
];

/** A boot never takes longer than this: TCG runs the microtask storm in a few seconds. */
const bootTimeoutMs = 120_000;
const maxShownLines = 12;

interface Program {
  name: string;
  /** Why the program could not be built or run under Node; the comparison then fails. */
  error?: string;
  kernel?: string;
  rootfs?: string;
  cmdline?: string;
  node?: { lines: string[]; status: number | null };
}

/** Output as lines, keeping empty ones (console.log("") is a line), without the final newline's. */
function splitLines(text: string): string[] {
  const ls = text.replaceAll("\r", "").split("\n");
  if (ls.at(-1) === "") ls.pop();
  return ls;
}

/** The program's lines from the serial console: everything but the kernel's own "zigu" lines. */
function guestLines(console: string): string[] {
  return splitLines(console).filter((l) => !l.startsWith("zigu"));
}

/** The lines, each known difference replaced by the same marker on both sides (numbers stay). */
function markKnown(program: string, ls: string[]): string[] {
  const known = knownDifferences.filter((k) => k.program === program);
  if (known.length === 0) return ls;
  return ls.map((l) => {
    const k = known.find((d) => d.line.test(l));
    return k ? `(known difference: ${k.line.source})` : l;
  });
}

/** A failure reported as its text alone: no assertion diff, no stack of this file. */
function failure(text: string): Error {
  const err = new Error(text);
  err.stack = text;
  return err;
}

/**
 * The first differing lines, unified-diff style ("-" Node only, "+" guest only, with the line
 * numbers of each side), from a longest common subsequence, so that one missing line does not
 * show every later line as different.
 */
function firstDifferences(node: string[], guest: string[], max = maxShownLines): string[] {
  const n = node.length;
  const m = guest.length;
  if (n * m > 16_000_000) {
    const i = node.findIndex((l, k) => l !== guest[k]);
    const at = i < 0 ? Math.min(n, m) : i;
    return [`  (too long to align; first difference at line ${at + 1})`, `- ${at + 1}: ${node[at] ?? "(end)"}`, `+ ${at + 1}: ${guest[at] ?? "(end)"}`];
  }
  // lcs[i][j]: the longest common subsequence of node[i..] and guest[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = node[i] === guest[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let lastSame = -1;
  let context = true; // the last equal line goes before each run of differences
  while ((i < n || j < m) && out.length < max) {
    if (i < n && j < m && node[i] === guest[j]) {
      lastSame = i;
      context = true;
      i++;
      j++;
      continue;
    }
    if (context && lastSame >= 0) out.push(`  ${lastSame + 1}: ${node[lastSame]}`);
    context = false;
    if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${j + 1}: ${guest[j]}`);
      j++;
    } else {
      out.push(`- ${i + 1}: ${node[i]}`);
      i++;
    }
  }
  return out;
}

/** Runs the bundle under this Node, with stderr turned into "error: " lines in stdout's order. */
async function runUnderNode(bundle: string, dir: string): Promise<{ lines: string[]; status: number | null; stderr: string }> {
  const preload = join(dir, "stderr-as-error-lines.mjs");
  writeFileSync(preload, [
    "let pending = '';",
    "process.stderr.write = (chunk, encoding, callback) => {",
    "  pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');",
    "  const parts = pending.split('\\n');",
    "  pending = parts.pop();",
    "  for (const line of parts) process.stdout.write(`error: ${line}\\n`);",
    "  const cb = typeof encoding === 'function' ? encoding : callback;",
    "  if (typeof cb === 'function') queueMicrotask(cb);",
    "  return true;",
    "};",
    "process.on('exit', () => { if (pending) process.stdout.write(`error: ${pending}\\n`); });",
    "",
  ].join("\n"));
  const main = join(dir, "main.mjs");
  copyFileSync(bundle, main);
  const r = await run([process.execPath, "--import", preload, main], { cwd: dir, timeoutMs: bootTimeoutMs });
  return { lines: splitLines(r.stdout), status: r.timedOut ? null : r.exitCode, stderr: r.stderr };
}

describe("the corpus: TypeScript programs print in the microVM exactly what they print under Node", { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), "zigu-corpus-"));
  const built = new Map<string, Program>();

  before(async () => {
    const projectDir = join(work, "project");
    init(projectDir, "typescript");
    // Node always has crypto: the Web API program needs the random capability for it.
    const toml = join(projectDir, "ukernel.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace('allow = ["log", "time"]', 'allow = ["log", "time", "random"]'));
    const started = performance.now();
    for (const name of programs) {
      const p: Program = { name };
      built.set(name, p);
      const dir = join(work, name);
      mkdirSync(dir);
      try {
        copyFileSync(join(corpusDir, `${name}.ts`), join(projectDir, "src", "main.ts"));
        const project = loadProject(projectDir);
        const b = await build(project, { release: false, progress: () => {} });
        const packed = await pack(project, { release: false, progress: () => {} });
        p.kernel = join(dir, "zigu.elf");
        p.rootfs = join(dir, "rootfs.img");
        p.cmdline = packed.cmdline;
        copyFileSync(packed.kernel, p.kernel);
        copyFileSync(packed.rootfs, p.rootfs);
        const map = b.files["main.js.map"];
        assert.ok(map, "the build names its bundle's source map");
        const node = await runUnderNode(map.slice(0, -".map".length), dir);
        p.node = { lines: node.lines, status: node.status };
        writeFileSync(join(dir, "node.txt"), `${node.lines.join("\n")}\n`);
        if (node.status !== 0) p.error = `Node itself ended with ${node.status}: ${node.stderr.trim().split("\n").slice(0, 5).join(" | ")}`;
      } catch (err) {
        p.error = `not built: ${(err as Error).message.split("\n").slice(0, 8).join("\n    ")}`;
      }
    }
    process.stderr.write(`corpus: ${programs.length} programs built and run under Node in ${((performance.now() - started) / 1000).toFixed(1)} s (${work})\n`);
  });

  for (const accel of accelerators()) {
    test(`every program prints Node's lines and exit status (${accel.toUpperCase()})`, async (t) => {
      const failures: string[] = [];
      const started = performance.now();
      for (const name of programs) {
        const { problem, wallMs } = await compare(built.get(name)!, accel);
        if (problem) failures.push(problem);
        t.diagnostic(`${problem ? "differs" : "matches"}: ${name}${wallMs === undefined ? "" : ` (${(wallMs / 1000).toFixed(1)} s)`}`);
      }
      t.diagnostic(`${programs.length} boots under ${accel} in ${((performance.now() - started) / 1000).toFixed(1)} s; outputs in ${work}`);
      if (failures.length > 0) {
        throw failure(`${failures.length} of ${programs.length} corpus programs differ from Node under ${accel} (node.txt and guest-${accel}.txt per program in ${work}):\n\n${failures.join("\n\n")}`);
      }
    });
  }

  /** Boots `p` and compares it with Node: the failure's report (none when it matches), the boot's time. */
  async function compare(p: Program, accel: Accel): Promise<{ problem?: string; wallMs?: number }> {
    if (p.error || !p.node || !p.kernel) return { problem: `${p.name}: ${p.error ?? "not built"}` };
    const r = await bootQemu({ kernel: p.kernel, cmdline: p.cmdline!, accel, drive: p.rootfs, timeoutMs: bootTimeoutMs });
    const guest = guestLines(r.console);
    writeFileSync(join(work, p.name, `guest-${accel}.txt`), `${guest.join("\n")}\n`);
    const problems: string[] = [];
    if (r.timedOut) problems.push(`timed out after ${bootTimeoutMs / 1000} s`);
    const status = r.end.kind === "exit" ? r.end.status : "no exit line";
    if (status !== p.node.status) problems.push(`exit status ${status}, Node's ${p.node.status}`);
    const diff = firstDifferences(markKnown(p.name, p.node.lines), markKnown(p.name, guest));
    if (diff.length > 0) problems.push(`first differing lines (- Node, + guest):\n${diff.map((l) => `    ${l}`).join("\n")}`);
    return { wallMs: r.wallMs, problem: problems.length === 0 ? undefined : `${p.name} (${accel}, ${(r.wallMs / 1000).toFixed(1)} s): ${problems.join("; ")}` };
  }
});
