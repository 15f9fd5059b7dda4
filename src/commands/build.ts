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
import { jsDepsReady, netLib, releaseOptimize, repoRoot, withTicker, zigCacheCold, zigCommand } from "../zig.ts";
import { jsBuildArgs } from "../runtime-js.ts";
import { BuildError, UserError } from "../errors.ts";
import { withLock } from "../lock.ts";
import type { Plugin } from "esbuild";
import { bytecodeFile, compileBytecode, compilerIn } from "../bytecode.ts";

export interface BuildOutput {
  mode: "debug" | "release";
  dir: string;
  kernel: string;
  workload: string;
  /** Further files for the root image (a TypeScript workload's bundle as bytecode, main.qjbc), by name. */
  files: Record<string, string>;
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
  for (const f of files(project.dir)) {
    // ukernel.toml: only what the build reads ([workload], and whether the network library is
    // linked); the VM's keys (accel, memory, timeout) and the policy are the pack's or the run's.
    if (f === project.file) continue;
    h.update(relative(project.dir, f)).update(readFileSync(f));
  }
  h.update(JSON.stringify({ workload: project.config.workload, network: project.config.network !== undefined }));
  // The Zigu side: kernel, user library, runtimes, the CLI itself (it writes the bundle), the build
  // script and the locked npm packages (metadata is enough to notice a change).
  for (const dir of ["kernel", "user", "runtime", "src"]) {
    for (const f of files(join(repoRoot, dir))) {
      const s = statSync(f);
      h.update(f).update(String(s.size)).update(String(s.mtimeMs));
    }
  }
  h.update(String(statSync(join(repoRoot, "build.zig")).mtimeMs)).update(String(statSync(join(repoRoot, "package-lock.json")).mtimeMs));
  if (existsSync(netLib)) h.update(String(statSync(netLib).mtimeMs));
  return h.digest("hex").slice(0, 16);
}

/** Whether the last build (its manifest) had these inputs and left all of `outputs`. */
function builtFrom(manifestPath: string, hash: string, outputs: string[]): boolean {
  if (!existsSync(manifestPath) || !outputs.every((f) => existsSync(f))) return false;
  return (JSON.parse(readFileSync(manifestPath, "utf8")) as { inputsHash?: string }).inputsHash === hash;
}

export async function build(project: Project, opts: { release: boolean; progress: (line: string) => void }): Promise<BuildOutput> {
  // One build of a project at a time (two `ukernel run` at once would write the same files).
  return withLock(join(project.dir, ".ukernel", "build.lock"), { what: "building this project", timeoutMs: 60 * 60_000, note: opts.progress }, () => buildUnlocked(project, opts));
}

async function buildUnlocked(project: Project, opts: { release: boolean; progress: (line: string) => void }): Promise<BuildOutput> {
  const started = performance.now();
  const { workload } = project.config;
  if (workload.runtime === "python") {
    throw new UserError(`runtime "python" cannot be built for the microVM yet: no registry here carries CPython's C source`, "Python workloads run on the host: `ukernel adapter`");
  }
  if (workload.runtime === "typescript") return buildTypeScript(project, opts, started);
  const mode = opts.release ? "release" : "debug";
  const dir = join(project.dir, ".ukernel", "build", mode);
  const manifestPath = join(dir, "manifest.json");
  const kernel = join(dir, "bin", "zigu.elf");
  const workloadElf = join(dir, "workload", workload.name);
  const hash = inputsHash(project, mode);
  if (builtFrom(manifestPath, hash, [kernel, workloadElf])) {
    return { mode, dir, kernel, workload: workloadElf, files: {}, inputsHash: hash, upToDate: true, seconds: (performance.now() - started) / 1000 };
  }
  mkdirSync(dir, { recursive: true });
  opts.progress(`building kernel and workload "${workload.name}" (${mode})`);
  if (zigCacheCold()) opts.progress("Zig's caches are cold: this first build compiles Zig's build runner and takes a few minutes");
  const optimize = opts.release ? releaseOptimize : "Debug";
  // A workload with a [network] section gets the sockets: the network library is linked in.
  if (project.config.network && !existsSync(netLib)) {
    throw new UserError("the network library is not built (.deps/lib/libzigu_net.a)", "run ./scripts/setup in the Zigu checkout (it runs scripts/net-lib)");
  }
  const r = await withTicker("building", opts.progress, () => run(
    [...zigCommand(), "build", "install", "workload", `-Doptimize=${optimize}`, `-Dworkload-src=${join(project.dir, workload.entry)}`, `-Dworkload-name=${workload.name}`, ...(project.config.network ? [`-Dnet-lib=${netLib}`] : []), "-p", dir, "--summary", "none"],
    { cwd: repoRoot, timeoutMs: 30 * 60_000 },
  ));
  if (r.timedOut) throw new UserError("zig build timed out after 30 minutes");
  if (r.exitCode !== 0) throw new BuildError(`build failed:\n${r.stderr.trim()}`, `fix ${workload.entry}; the workload imports "zigu" (see examples/hello/main.zig in the Zigu repository)`);
  writeFileSync(manifestPath, JSON.stringify({ inputsHash: hash, workload: workload.name, mode, kernel, workloadElf, builtAt: new Date().toISOString() }, null, 2));
  return { mode, dir, kernel, workload: workloadElf, files: {}, inputsHash: hash, upToDate: false, seconds: (performance.now() - started) / 1000 };
}

/** `import … from "zigu"`: the runtime's module (runtime/js/prelude/zigu.ts), which the prelude
 * leaves at globalThis[Symbol.for("zigu")]. */
const ziguModule: Plugin = {
  name: "zigu",
  setup(b) {
    b.onResolve({ filter: /^zigu$/ }, () => ({ path: "zigu", namespace: "zigu" }));
    b.onLoad({ filter: /.*/, namespace: "zigu" }, () => ({
      contents: 'const z = globalThis[Symbol.for("zigu")];\nexport const { capabilities, restores, CapabilityError, UkernelError, BadHandleError, BadPointerError, InvalidArgumentError, NoSpaceError, NoSuchCallError, UnsupportedError, ExistsError, NameNotFoundError, net, serve, NetworkPolicyError } = z;\n',
      loader: "js",
    }));
  },
};

/**
 * A TypeScript workload for the in-guest runtime (runtime/js/: QuickJS-NG on picolibc):
 *  1. type-checks the program with tsc against ES2023 and the runtime's own globals
 *     (runtime/js/globals.d.ts), not Node's types: importing `fs` fails here, with file:line;
 *  2. bundles it and its npm dependencies with esbuild into one ES module, main.js, wrapped so
 *     that a `main()` (or default) export is called and its number becomes the exit status, as
 *     `ukernel adapter` does on the host;
 *  3. builds the kernel, the runtime's ELF (the js workload) and the host's compiler of the
 *     runtime's bytecode (zigu-qjsc) with zig;
 *  4. compiles main.js to QuickJS bytecode, main.qjbc, so the guest does not parse source at boot
 *     (a syntax error QuickJS finds fails the build with the bundle's file:line:column).
 * `ukernel pack` puts main.qjbc into the root image; the runtime reads it from there. main.js stays
 * in the build folder, for reading, and is not packed.
 */
async function buildTypeScript(project: Project, opts: { release: boolean; progress: (line: string) => void }, started: number): Promise<BuildOutput> {
  const { workload } = project.config;
  if (!jsDepsReady()) {
    throw new UserError("the in-guest JavaScript runtime's C sources are not built (.deps/lib)", "run ./scripts/setup in the Zigu checkout (it runs scripts/runtime-deps)");
  }
  const mode = opts.release ? "release" : "debug";
  const dir = join(project.dir, ".ukernel", "build", mode);
  const manifestPath = join(dir, "manifest.json");
  const kernel = join(dir, "bin", "zigu.elf");
  const workloadElf = join(dir, "workloads", "js");
  const bundle = join(dir, "main.js");
  const bytecode = join(dir, bytecodeFile);
  const hash = inputsHash(project, `${mode}:typescript`);
  const out = (upToDate: boolean): BuildOutput => ({ mode, dir, kernel, workload: workloadElf, files: { [bytecodeFile]: bytecode, "main.js.map": `${bundle}.map` }, inputsHash: hash, upToDate, seconds: (performance.now() - started) / 1000 });
  if (builtFrom(manifestPath, hash, [kernel, workloadElf, bundle, bytecode])) return out(true);
  mkdirSync(dir, { recursive: true });
  const entry = join(project.dir, workload.entry);

  await typecheck(project, dir, opts.progress);

  opts.progress("bundling with esbuild");
  const esbuild = await import("esbuild");
  const wrapper = `import * as program from ${JSON.stringify(entry)};\nconst main = program.default ?? program.main;\nif (typeof main === "function") {\n  const status = await main();\n  if (typeof status === "number") process.exitCode = status;\n} else if (main && typeof main.fetch === "function") {\n  await globalThis[Symbol.for("zigu")].serve(main);\n}\n`;
  try {
    await esbuild.build({
      stdin: { contents: wrapper, resolveDir: project.dir, sourcefile: "zigu-entry.js", loader: "js" },
      bundle: true, format: "esm", platform: "neutral", target: "es2023", outfile: bundle, logLevel: "silent",
      mainFields: ["module", "main"], keepNames: true,
      // The map turns the runtime's stack positions into the program's (src/main.ts:3:9).
      sourcemap: "external", sourcesContent: false,
      plugins: [ziguModule],
    });
    const mapFile = `${bundle}.map`;
    const map = JSON.parse(readFileSync(mapFile, "utf8")) as { sources: string[] };
    map.sources = map.sources.map((s) => relative(project.dir, join(dir, s)));
    writeFileSync(mapFile, JSON.stringify(map));
  } catch (err) {
    throw new BuildError(`bundling failed: ${(err as Error).message}`, "esbuild could not bundle the program and its imports");
  }

  opts.progress(`building kernel and the JavaScript runtime (${mode})`);
  if (zigCacheCold()) opts.progress("Zig's caches are cold: this first build compiles Zig's build runner and takes a few minutes");
  const optimize = opts.release ? releaseOptimize : "Debug";
  const r = await withTicker("building", opts.progress, async () => run([...zigCommand(), "build", "install", "js-compiler", `-Doptimize=${optimize}`, ...(await jsBuildArgs()), "-p", dir, "--summary", "none"], { cwd: repoRoot, timeoutMs: 30 * 60_000 }));
  if (r.timedOut) throw new UserError("zig build timed out after 30 minutes");
  if (r.exitCode !== 0) throw new UserError(`building the kernel and runtime failed:\n${r.stderr.trim()}`);

  opts.progress(`compiling the bundle to QuickJS bytecode (${bytecodeFile})`);
  await compileBytecode(compilerIn(dir), bundle, bytecode, { moduleName: "main.js", cwd: project.dir });
  writeFileSync(manifestPath, JSON.stringify({ inputsHash: hash, workload: workload.name, mode, kernel, workloadElf, bundle, bytecode, builtAt: new Date().toISOString() }, null, 2));
  return out(false);
}

/** Type-checks a TypeScript workload against ES2023 and the Zigu runtime's globals (its tsconfig
 * goes to `dir`); a BuildError lists tsc's errors. */
async function typecheck(project: Project, dir: string, progress: (line: string) => void): Promise<void> {
  const { workload } = project.config;
  const entry = join(project.dir, workload.entry);
  progress(`type-checking ${workload.entry} (ES2023 and the Zigu runtime's globals)`);
  mkdirSync(dir, { recursive: true });
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(tsconfig, JSON.stringify({
    compilerOptions: { target: "es2023", lib: ["es2023"], module: "esnext", moduleResolution: "bundler", strict: true, noEmit: true, types: [], skipLibCheck: true, allowImportingTsExtensions: true },
    files: [entry, join(repoRoot, "runtime", "js", "globals.d.ts"), join(repoRoot, "runtime", "js", "zigu.d.ts")],
  }, null, 2));
  const tsc = await run([process.execPath, join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", tsconfig, "--pretty", "false"], { cwd: project.dir, timeoutMs: 10 * 60_000 });
  if (tsc.exitCode !== 0) {
    const errors = (tsc.stdout + tsc.stderr).trim().split("\n").map((l) => l.replace(`${project.dir}/`, "")).join("\n");
    const node = /Cannot find module '(node:)?(fs|path|os|http|net|child_process|crypto|process|buffer|url|util)[^']*'/.exec(errors);
    throw new BuildError(`type check failed:\n${errors}`, node ? `Node's modules do not exist in the microVM: the program runs on Zigu's runtime (ES2023, console, timers, process.exit)` : `fix the errors above in ${workload.entry}`);
  }
}

/** `ukernel adapter`'s check of a TypeScript workload: the same as the build's, skipped when the
 * project's files are those of the last check that passed. */
export async function typecheckHost(project: Project, progress: (line: string) => void): Promise<void> {
  const dir = join(project.dir, ".ukernel", "host");
  const stamp = join(dir, ".typechecked");
  const hash = inputsHash(project, "typecheck");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === hash) return;
  await typecheck(project, dir, progress);
  writeFileSync(stamp, hash);
}