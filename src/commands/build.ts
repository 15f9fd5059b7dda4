/**
 * `ukernel build [--release]`: the kernel and the workload, into .ukernel/build/. Incremental: the
 * inputs (project sources, ukernel.toml, the Zigu kernel and user library) are hashed, and a build
 * whose inputs did not change does no work.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import type { Project } from "../config.ts";
import { run } from "../proc.ts";
import { releaseOptimize, repoRoot, zigCommand } from "../zig.ts";
import { UserError } from "../errors.ts";

export interface BuildOutput {
  mode: "debug" | "release";
  dir: string;
  kernel: string;
  workload: string;
  inputsHash: string;
  upToDate: boolean;
  seconds: number;
}

/** Files under `dir` (depth-first, sorted), skipping build outputs and dot-directories. */
function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".") || name === "node_modules" || name === "dist" || name === "zig-out") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

function inputsHash(project: Project, mode: string): string {
  const h = createHash("sha256");
  h.update(mode);
  for (const f of files(project.dir)) h.update(relative(project.dir, f)).update(readFileSync(f));
  // The Zigu side: kernel, user library, build script (metadata is enough to notice a change).
  for (const dir of ["kernel", "user"]) {
    for (const f of files(join(repoRoot, dir))) {
      const s = statSync(f);
      h.update(f).update(String(s.size)).update(String(s.mtimeMs));
    }
  }
  h.update(String(statSync(join(repoRoot, "build.zig")).mtimeMs));
  return h.digest("hex").slice(0, 16);
}

export async function build(project: Project, opts: { release: boolean; progress: (line: string) => void }): Promise<BuildOutput> {
  const started = performance.now();
  const { workload } = project.config;
  if (workload.runtime !== "zig") {
    throw new UserError(
      `runtime "${workload.runtime}" cannot be built for the microVM yet: only "zig" workloads run in the guest today`,
      workload.runtime === "typescript" ? "the in-guest JavaScript engine is the next milestone; `ukernel adapter` runs it on the host" : "Python workloads run on the host: `ukernel adapter`",
    );
  }
  const mode = opts.release ? "release" : "debug";
  const dir = join(project.dir, ".ukernel", "build", mode);
  const manifestPath = join(dir, "manifest.json");
  const kernel = join(dir, "bin", "zigu.elf");
  const workloadElf = join(dir, "workload", workload.name);
  const hash = inputsHash(project, mode);
  if (existsSync(manifestPath) && existsSync(kernel) && existsSync(workloadElf)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { inputsHash?: string };
    if (manifest.inputsHash === hash) {
      return { mode, dir, kernel, workload: workloadElf, inputsHash: hash, upToDate: true, seconds: (performance.now() - started) / 1000 };
    }
  }
  mkdirSync(dir, { recursive: true });
  opts.progress(`building kernel and workload "${workload.name}" (${mode}); the first build compiles Zig's build runner and takes a few minutes`);
  const optimize = opts.release ? releaseOptimize : "Debug";
  const r = await run(
    [...zigCommand(), "build", "install", "workload", `-Doptimize=${optimize}`, `-Dworkload-src=${join(project.dir, workload.entry)}`, `-Dworkload-name=${workload.name}`, "-p", dir, "--summary", "none"],
    { cwd: repoRoot, timeoutMs: 30 * 60_000 },
  );
  if (r.timedOut) throw new UserError("zig build timed out after 30 minutes");
  if (r.exitCode !== 0) throw new UserError(`build failed:\n${r.stderr.trim()}`, `fix ${workload.entry}; the workload imports "zigu" (see examples/hello/main.zig in the Zigu repository)`);
  writeFileSync(manifestPath, JSON.stringify({ inputsHash: hash, workload: workload.name, mode, kernel, workloadElf, builtAt: new Date().toISOString() }, null, 2));
  return { mode, dir, kernel, workload: workloadElf, inputsHash: hash, upToDate: false, seconds: (performance.now() - started) / 1000 };
}
