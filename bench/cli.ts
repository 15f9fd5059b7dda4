/**
 * What the CLI adds (part of `npm run bench`): `ukernel run` of the sample project against booting
 * the same kernel and workload directly with the VMM, alternating, in one run. Under QEMU with KVM
 * when /dev/kvm works, else TCG.
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../src/proc.ts";
import { repoRoot } from "../src/zig.ts";
import { bootQemu, kvmUsable } from "../src/vmm/qemu.ts";
import { loadProject } from "../src/config.ts";
import { pack } from "../src/commands/pack.ts";

const rounds = Number(process.argv[2] ?? 10);
const cli = join(repoRoot, "bin", "ukernel.js");

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ukernel-bench-"));
  const init = await run(["node", cli, "init", dir], { timeoutMs: 60_000 });
  if (init.exitCode !== 0) throw new Error(init.stderr);
  const project = loadProject(dir);
  const image = await pack(project, { release: true, progress: () => {} });
  const accel = kvmUsable() ? "kvm" : "tcg";
  const viaCli: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const c = await run(["node", cli, "run", "--json"], { cwd: dir, timeoutMs: 120_000 });
    if (c.exitCode !== 0) throw new Error(`ukernel run failed:\n${c.stdout}${c.stderr}`);
    viaCli.push(c.wallMs);
    const b = await bootQemu({ kernel: image.kernel, drive: image.rootfs, cmdline: image.cmdline, accel, timeoutMs: 120_000 });
    if (b.end.kind !== "exit" || b.end.status !== 0) throw new Error(`bare boot failed:\n${b.console}`);
    bare.push(b.wallMs);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`\nukernel run vs bare QEMU boot (${accel.toUpperCase()}, sample project, ${rounds} alternating rounds, median)`);
  console.log(`  ukernel run ${median(viaCli).toFixed(0)} ms, bare VMM ${median(bare).toFixed(0)} ms: ratio ${(median(viaCli) / median(bare)).toFixed(2)}x (+${(median(viaCli) - median(bare)).toFixed(0)} ms)`);
}

await main();
