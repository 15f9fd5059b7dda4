/**
 * Finding the pinned Zig and building the kernel with it. The project pins Zig 0.17.0 from PyPI
 * (`ziglang`) into .venv (scripts/setup); a system `zig` of exactly that version also does.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync, spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { run } from "./proc.ts";
import { UserError } from "./errors.ts";

export const zigVersion = "0.17.0";
/** The Zigu checkout. bin/ukernel.js sets ZIGU_CHECKOUT: the CLI it runs is bundled into
 * .deps/cli/, where import.meta.url says nothing about the checkout. */
export const repoRoot = process.env.ZIGU_CHECKOUT ? resolve(process.env.ZIGU_CHECKOUT) : resolve(fileURLToPath(new URL("..", import.meta.url)));

let cached: string[] | undefined;

function versionOf(command: string[]): string | undefined {
  const [file, ...args] = command;
  if (file === undefined) return undefined;
  try {
    return execFileSync(file, [...args, "version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** Where the CLI installs Zig when nothing else has it: a venv per version in the user's cache
 * (ZIGU_CACHE, else $XDG_CACHE_HOME/zigu or ~/.cache/zigu). */
export function zigCacheVenv(): string {
  const root = process.env.ZIGU_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "zigu");
  return join(root, `zig-${zigVersion}`);
}

/** Installs ziglang==zigVersion from PyPI into zigCacheVenv(), pip's progress on stderr. */
function installZig(): string[] {
  const venv = zigCacheVenv();
  const python = join(venv, "bin", "python");
  process.stderr.write(`[ukernel] Zig ${zigVersion} not found: installing it from PyPI (ziglang==${zigVersion}) into ${venv}, once (about 50 MB)\n`);
  const step = (file: string, args: string[]) => {
    const r = spawnSync(file, args, { stdio: ["ignore", 2, 2] });
    if (r.error || r.status !== 0) {
      throw new UserError(`installing Zig ${zigVersion} failed: ${[file, ...args].join(" ")} ${r.error ? `(${r.error.message})` : `exited with ${r.status}`}`, `run ./scripts/setup in ${repoRoot}, or set ZIGU_ZIG to a zig ${zigVersion}`);
    }
  };
  if (!existsSync(python)) step("python3", ["-m", "venv", venv]);
  step(python, ["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on", `ziglang==${zigVersion}`]);
  return [python, "-m", "ziglang"];
}

/**
 * The command that runs the pinned zig (e.g. [".venv/bin/python", "-m", "ziglang"]): ZIGU_ZIG, the
 * checkout's .venv (./scripts/setup), the user's cache, a `zig` on PATH, each only at zigVersion;
 * with none, Zig is installed into the user's cache on this first use. ZIGU_ZIG=install uses (and
 * fills) the cache alone.
 */
export function zigCommand(): string[] {
  if (cached) return cached;
  const cacheCommand = [join(zigCacheVenv(), "bin", "python"), "-m", "ziglang"];
  if (process.env.ZIGU_ZIG === "install") {
    return (cached = versionOf(cacheCommand) === zigVersion ? cacheCommand : installZig());
  }
  const candidates: string[][] = [];
  if (process.env.ZIGU_ZIG) candidates.push([process.env.ZIGU_ZIG]);
  const venvPython = join(repoRoot, ".venv", "bin", "python");
  if (existsSync(venvPython)) candidates.push([venvPython, "-m", "ziglang"]);
  if (existsSync(cacheCommand[0]!)) candidates.push(cacheCommand);
  candidates.push(["zig"]);
  const seen: string[] = [];
  for (const c of candidates) {
    const v = versionOf(c);
    if (v === zigVersion) return (cached = c);
    if (v !== undefined) seen.push(`${c.join(" ")} is ${v}`);
  }
  if (!process.env.ZIGU_ZIG) {
    const installed = installZig();
    if (versionOf(installed) === zigVersion) return (cached = installed);
  }
  throw new UserError(
    `Zig ${zigVersion} not found${seen.length ? ` (${seen.join("; ")})` : ""}`,
    `run ./scripts/setup in ${repoRoot}, which installs ziglang==${zigVersion} from PyPI into .venv (or set ZIGU_ZIG to a zig ${zigVersion})`,
  );
}

/** The workloads build.zig builds into the kernel image (`zigu.workload=NAME`), in its order. */
export function builtinWorkloads(): string[] {
  const text = readFileSync(join(repoRoot, "build.zig"), "utf8");
  const list = /const workloads = \[_\][^{]*\{([\s\S]*?)\n    \};/.exec(text)?.[1] ?? "";
  return [...list.matchAll(/\.name = "([^"]+)"/g)].map((m) => m[1]!);
}

/** Whether Zig's caches are cold here: the first build then compiles Zig's build runner and the
 * standard library (minutes, not seconds). */
export function zigCacheCold(): boolean {
  return !existsSync(join(repoRoot, ".zig-cache", "o"));
}

/**
 * Runs `work`, saying every `everyS` seconds how long it has run (long builds must not look hung).
 * `say` gets lines like "still building the kernel: 40 s".
 */
export async function withTicker<T>(what: string, say: (line: string) => void, work: () => Promise<T>, everyS = 15): Promise<T> {
  const started = performance.now();
  const timer = setInterval(() => say(`still ${what}: ${Math.round((performance.now() - started) / 1000)} s`), everyS * 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export type Optimize = "Debug" | "ReleaseSafe" | "ReleaseSmall";

/**
 * The release kernel: optimized with every bounds, overflow and assertion check kept (ReleaseSmall
 * turns each `assert` into an optimizer assumption and an overflow into silent wrapping). The
 * boot bench measures what the checks cost against ReleaseSmall.
 */
export const releaseOptimize: Optimize = "ReleaseSafe";

const prefixes: Record<Optimize, string> = { Debug: "debug", ReleaseSafe: "release", ReleaseSmall: "release-small" };

/** The runtime's archives (scripts/runtime-deps): `-Djs-deps` builds the js workload from them. */
export const jsDeps = join(repoRoot, ".deps");
/** The guest's network library (scripts/net-lib), linked into the js workload and networked Zig workloads. */
export const netLib = join(jsDeps, "lib", "libzigu_net.a");

export function jsDepsReady(): boolean {
  return existsSync(join(jsDeps, "lib", ".stamp"));
}

export interface KernelBuild {
  optimize: Optimize;
  prefix: string;
  kernel: string;
  stub: string;
  /** The density benchmark's baseline: prints "Z" and halts for ever (bench/stub/idle.S). */
  idleStub: string;
  workloadsDir: string;
}

/** Builds kernel, built-in workloads and the bench stub into zig-out/<mode>; incremental. */
export async function buildKernel(optimize: Optimize, onProgress?: (line: string) => void): Promise<KernelBuild> {
  const prefix = join(repoRoot, "zig-out", prefixes[optimize]);
  const result = await run(
    [...zigCommand(), "build", "install", "stub", `-Doptimize=${optimize}`, "-p", prefix, "--summary", "none"],
    { cwd: repoRoot, timeoutMs: 20 * 60_000, onStderr: onProgress },
  );
  if (result.timedOut) throw new Error(`zig build timed out after 20 minutes`);
  if (result.exitCode !== 0) {
    throw new UserError(`zig build (${optimize}) failed:\n${result.stderr.trim()}`, "fix the error above; `zig build` alone reproduces it");
  }
  return {
    optimize,
    prefix,
    kernel: join(prefix, "bin", "zigu.elf"),
    stub: join(prefix, "bin", "pvh-stub.elf"),
    idleStub: join(prefix, "bin", "pvh-idle-stub.elf"),
    workloadsDir: join(prefix, "workloads"),
  };
}
