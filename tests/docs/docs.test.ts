// Docs that run: every shell block in README.md and docs/*.md whose info string says `doctest` is
// run as written (bash, `set -euo pipefail`), and the next block, if its info is `doctest-output`,
// must appear in what it printed, line by line and in order, once volatile fields are masked: run
// ids, numbers with units, addresses, paths, the accelerator, the gate and the TSC's source.
//
//   ```sh doctest [cwd=checkout] [needs=firecracker|kvm]
//   ukernel init hello && cd hello/src && ukernel run
//   ```
//   ```text doctest-output
//   hello from a Zigu workload
//   ```
//
// The blocks of one file run in order in one temporary folder (cwd=checkout: in the checkout),
// with `ukernel` on PATH as the README installs it (npm link, into a temporary npm prefix).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../../src/proc.ts";
import { jsDepsReady, repoRoot } from "../../src/zig.ts";
import { firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { kvmUsable } from "../../src/vmm/qemu.ts";

export interface DocBlock {
  file: string;
  line: number;
  script: string;
  options: Record<string, string>;
  expected?: string;
}

/** The runnable blocks of a Markdown text, each with the output block that follows it, if any. */
export function docBlocks(file: string, text: string): DocBlock[] {
  const fence = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  const blocks: { info: string; body: string; line: number; end: number; start: number }[] = [];
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    blocks.push({ info: m[1]!.trim(), body: m[2]!, start: m.index, end: m.index + m[0].length, line: text.slice(0, m.index).split("\n").length });
  }
  const out: DocBlock[] = [];
  blocks.forEach((b, i) => {
    const words = b.info.split(/\s+/);
    if (!words.includes("doctest")) return;
    const options = Object.fromEntries(words.filter((w) => w.includes("=")).map((w) => w.split("=", 2) as [string, string]));
    // The next block, prose between allowed, when it is an output block.
    const next = blocks[i + 1];
    const output = next && next.info.split(/\s+/).includes("doctest-output");
    out.push({ file, line: b.line, script: b.body, options, expected: output ? next.body : undefined });
  });
  return out;
}

/** Volatile fields masked, so that a doc's sample output matches any run's. */
export function mask(text: string): string[] {
  return text
    .replaceAll("\r", "")
    .split("\n")
    .map((l) =>
      l
        .replace(/\b\d{8}-\d{6,9}-[0-9a-f]{4}\b/g, "<run>")
        .replace(/\bsnapshot [0-9a-f]{24}\b/g, "snapshot <key>")
        .replace(/(?<![\w.])\/[\w.@%+=:,/-]*/g, "<path>")
        .replace(/\b0x[0-9a-f]+\b/gi, "<hex>")
        .replace(/\b(KVM|TCG)\b/g, "<accel>")
        .replace(/gate (trap|syscall) \((probed|forced)\)/g, "gate <gate>")
        .replace(/tsc (\d+) kHz \([^)]*\)/g, "tsc <n> kHz (<source>)")
        .replace(/\b\d+(\.\d+)?(?= ?(ms|us|µs|s|kHz|MiB|KiB|KB|B|x)\b)/g, "<n>")
        .replace(/\b(passed|failed) \d+\b/g, "$1 <n>")
        .trimEnd(),
    )
    .filter((l) => l.length > 0);
}

/** Where the expected lines are missing from the actual ones (in order), or undefined. */
export function missing(expected: string[], actual: string[]): string | undefined {
  let at = 0;
  for (const line of expected) {
    const found = actual.indexOf(line, at);
    if (found < 0) return line;
    at = found + 1;
  }
  return undefined;
}

const docFiles = ["README.md", ...readdirSync(join(repoRoot, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];

test("the masking and matching the docs test relies on", () => {
  assert.deepEqual(mask("[ukernel] exit status 0 (run 20261203-062525631-1812, 229 ms)\nzigu 0.1.0: boot 95039 us, gate trap (probed), tsc 2596152 kHz (kvmclock)"), [
    "[ukernel] exit status 0 (run <run>, <n> ms)",
    "zigu 0.1.0: boot <n> us, gate <gate>, tsc <n> kHz (<source>)",
  ]);
  assert.deepEqual(mask("created ukernel.toml in /tmp/x/hello\n[ukernel] run 20261203-091110435-cff8: QEMU microvm, TCG"), ["created ukernel.toml in <path>", "[ukernel] run <run>: QEMU microvm, <accel>"]);
  assert.equal(missing(["a", "c"], ["a", "b", "c"]), undefined);
  assert.equal(missing(["c", "a"], ["a", "b", "c"]), "a");
  const blocks = docBlocks("x.md", "```sh doctest cwd=checkout\necho hi\n```\n\n```text doctest-output\nhi\n```\n```sh\nnot run\n```\n");
  assert.deepEqual(blocks, [{ file: "x.md", line: 1, script: "echo hi\n", options: { cwd: "checkout" }, expected: "hi\n" }]);
});

test("the docs carry no absolute path of one machine's checkout", () => {
  for (const f of docFiles) {
    const text = readFileSync(join(repoRoot, f), "utf8");
    assert.doesNotMatch(text, /\/work\/main\b/, `${f} names this machine's checkout`);
  }
});

const all = docFiles.flatMap((f) => docBlocks(f, readFileSync(join(repoRoot, f), "utf8")));

describe("the docs' runnable blocks", { skip: !jsDepsReady() && "the runtime's archives are not built (./scripts/setup)" }, () => {
  test("there are some, each with what it prints", () => {
    assert.ok(all.length >= 4, `only ${all.length} runnable blocks`);
    for (const b of all) assert.ok(b.expected !== undefined, `${b.file}:${b.line}: a doctest block without a doctest-output block after it`);
  });

  // One npm prefix for the whole run: `npm link` (the README's install step) puts `ukernel` there.
  const prefix = mkdtempSync(join(tmpdir(), "zigu-docs-npm-"));
  const env = { ...process.env, npm_config_prefix: prefix, PATH: `${join(prefix, "bin")}:${process.env.PATH}` };
  for (const file of docFiles) {
    const blocks = all.filter((b) => b.file === file);
    if (blocks.length === 0) continue;
    describe(file, () => {
      const dir = mkdtempSync(join(tmpdir(), "zigu-docs-"));
      for (const b of blocks) {
        const needs = b.options.needs;
        const skip = needs === "firecracker" && (!firecrackerVersion() || !kvmUsable()) ? "needs firecracker on PATH and /dev/kvm" : needs === "kvm" && !kvmUsable() ? "needs /dev/kvm" : false;
        test(`${file}:${b.line}: ${b.script.split("\n")[0]}`, { skip }, async () => {
          const cwd = b.options.cwd === "checkout" ? repoRoot : dir;
          // One stream, stdout and stderr in the order they were written, as a terminal shows them.
          const r = await run(["bash", "-c", `set -euo pipefail\nexec 2>&1\n${b.script}`], { cwd, env, timeoutMs: 20 * 60_000 });
          const output = r.stdout + r.stderr;
          assert.equal(r.exitCode, 0, `${file}:${b.line} failed (exit ${r.exitCode}):\n${output}`);
          const gap = missing(mask(b.expected ?? ""), mask(output));
          assert.equal(gap, undefined, `${file}:${b.line}: the output lacks the line\n  ${gap}\n(masked) of what the doc quotes; it printed:\n${output}`);
        });
      }
    });
  }
  test("npm link put ukernel in the temporary prefix, not the machine's", () => {
    if (all.some((b) => /\bnpm link\b/.test(b.script))) assert.ok(existsSync(join(prefix, "bin", "ukernel")));
  });
});
