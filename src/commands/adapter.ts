/**
 * `ukernel adapter`: runs the workload on the host against libukernel_abi.so, under the same
 * policy, for fast iteration without a VM. Python workloads run on the asyncio adapter
 * (adapter/python-3.12/runtime.py) with python3; TypeScript ones on adapter/typescript/runtime.ts
 * with Node.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveDestinations, type Project } from "../config.ts";
import { run } from "../proc.ts";
import { repoRoot, zigCommand } from "../zig.ts";
import { BuildError, UserError } from "../errors.ts";
import { typecheckHost } from "./build.ts";

/** Paths, sizes and modification times of every file under `paths`: a cheap change detector. */
function sourcesStamp(paths: string[]): string {
  const parts: string[] = [];
  const walk = (p: string) => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else parts.push(`${p} ${s.size} ${s.mtimeMs}`);
  };
  for (const p of paths) walk(p);
  return parts.join("\n");
}

export async function adapter(project: Project, opts: { out: (s: string) => void; err: (s: string) => void; note: (s: string) => void }): Promise<number> {
  const { runtime } = project.config.workload;
  if (runtime === "zig") throw new UserError("Zig workloads run in the microVM", "use `ukernel run`");
  const prefix = join(project.dir, ".ukernel", "host");
  const lib = join(prefix, "lib", "libukernel_abi.so");
  // Rebuilt only when its sources changed (host/, the kernel's core it shares, build.zig).
  const stamp = join(prefix, ".inputs");
  const inputs = sourcesStamp([join(repoRoot, "host"), join(repoRoot, "kernel", "core"), join(repoRoot, "build.zig")]);
  if (!existsSync(lib) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== inputs) {
    opts.note("building libukernel_abi.so");
    const b = await run([...zigCommand(), "build", "host-lib", "-p", prefix, "--summary", "none"], { cwd: repoRoot, timeoutMs: 30 * 60_000 });
    if (b.exitCode !== 0) throw new BuildError(`building libukernel_abi.so failed:\n${b.stderr.trim()}`);
    writeFileSync(stamp, inputs);
  }
  // TypeScript is type-checked wherever it runs: the same check `ukernel build` makes, with Node's
  // types added (on the host the program is an ordinary Node process).
  if (runtime === "typescript") await typecheckHost(project, opts.note);
  const adapterDir = join(repoRoot, "adapter", runtime === "python" ? "python-3.12" : "typescript");
  const env: NodeJS.ProcessEnv = { ...process.env, UKERNEL_ABI_LIB: lib, PYTHONPATH: adapterDir };
  delete env.UKERNEL_CAPS; // the runtime sets it from ukernel.toml
  // mem_map's limit on the host: the workload's own, else what its guest would have.
  env.UKERNEL_MEMORY_LIMIT_MIB = String(project.config.workload.memory_limit_mib ?? project.config.vm.memory_mib);
  // The network policy on the host: the same lists, the guest's gateway (the host, as QEMU's user
  // network shows it) being 127.0.0.1 here; listeners bind 127.0.0.1.
  const network = project.config.network;
  delete env.UKERNEL_NET_LISTEN;
  delete env.UKERNEL_NET_CONNECT;
  if (network) {
    env.UKERNEL_NET_LISTEN = network.listen.join(",");
    env.UKERNEL_NET_CONNECT = (await resolveDestinations(network.connect)).map((d) => d.startsWith(`${network.gateway}:`) || d.startsWith(`${network.gateway}/`) ? `127.0.0.1${d.slice(network.gateway.length)}` : d).join(",");
  }
  const command = runtime === "python"
    ? ["python3", join(adapterDir, "runtime.py"), "--project", project.dir]
    : [process.execPath, "--import", "tsx", join(adapterDir, "runtime.ts"), "--project", project.dir];
  opts.note(
    `host mode: ${runtime === "python" ? "Python" : "TypeScript"} runs as an ordinary process on libukernel_abi.so. ` +
      "The policy gates its ABI calls and its console (print/console.log go through log), " +
      "not its files, sockets, clocks or subprocesses: `ukernel run` isolates it in the microVM",
  );
  let r;
  try {
    // cwd: the Zigu checkout, where the TypeScript runtime's imports (tsx, koffi) resolve.
    r = await run(command, { cwd: repoRoot, env, timeoutMs: project.config.vm.timeout_s * 1000, onStdout: opts.out, onStderr: opts.err });
  } catch {
    throw new UserError(`${command[0]} not found`, runtime === "python" ? "install Python 3.11 or later" : "install Node.js 20 or later");
  }
  if (r.timedOut) {
    opts.note(`timed out after ${project.config.vm.timeout_s} s`);
    return 124;
  }
  return r.exitCode ?? 1;
}
