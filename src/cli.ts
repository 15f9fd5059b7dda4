/**
 * The `ukernel` command: parses arguments and dispatches to src/commands/. User errors print as
 * one message and a hint, without a stack; bugs keep theirs.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Command, Option, CommanderError } from "commander";
import { repoRoot } from "./zig.ts";
import { abiVersion } from "../abi/spec.ts";
import { UserError } from "./errors.ts";
import { loadProject } from "./config.ts";
import { init, type Runtime } from "./commands/init.ts";
import { build } from "./commands/build.ts";
import { pack } from "./commands/pack.ts";
import { adapter } from "./commands/adapter.ts";
import { remoteCommand } from "./commands/remote.ts";
import { runProject } from "./commands/run.ts";
import { logs } from "./commands/logs.ts";
import { listRuns } from "./runs.ts";
import { quoteCommand } from "./proc.ts";

/** Whether a `ukernel` command is on PATH (npm link, npm install -g). */
function ukernelOnPath(): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => {
    try {
      accessSync(join(d, "ukernel"), constants.X_OK);
      return d.length > 0;
    } catch {
      return false;
    }
  });
}

/** The kernel's version, as its boot line gives it (kernel/main.zig). */
function kernelVersion(): string {
  try {
    return /pub const version = "([^"]+)"/.exec(readFileSync(join(repoRoot, "kernel", "main.zig"), "utf8"))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

const out = (s: string) => process.stdout.write(s);
const note = (s: string) => process.stderr.write(`[ukernel] ${s}\n`);

/** The checked release kernel (ReleaseSafe) unless `--debug`; the workload is ReleaseSafe either way. */
function releaseKernel(o: { debug: boolean; release?: boolean }): boolean {
  if (o.debug && o.release) throw new UserError("--debug and --release: pick one (release is the default)");
  return !o.debug;
}

function program(): Command {
  const p = new Command("ukernel")
    .description("Build and run Zigu workloads in microVMs")
    .version(`ukernel ${JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version} (Zigu kernel ${kernelVersion()}, ABI ${abiVersion}; ${repoRoot})`, "-V, --version")
    .option("-C, --dir <dir>", "project directory", ".")
    .showHelpAfterError()
    .exitOverride();

  p.command("init")
    .description("create ukernel.toml and a sample workload (never overwrites)")
    .argument("[dir]", "directory of the new project", ".")
    .addOption(new Option("--runtime <runtime>", "workload runtime").choices(["typescript", "zig", "python"]).default("typescript"))
    .action((dir: string, o: { runtime: Runtime }) => {
      const r = init(dir, o.runtime);
      const cmd = ukernelOnPath() ? "ukernel" : `node ${join(repoRoot, "bin", "ukernel.js")}`;
      out(`created ${r.files.join(", ")} in ${r.dir}\nnext: cd ${quoteCommand([r.dir])} && ${cmd} ${o.runtime === "python" ? "adapter" : "run"}\n`);
      if (!ukernelOnPath()) note(`ukernel is not on PATH: install the command with \`npm link\` in ${repoRoot} (README, "Installing the ukernel command")`);
    });

  p.command("build")
    .description("build the kernel and the workload into .ukernel/build/ (incremental)")
    .option("--debug", "the Debug kernel (unoptimized, every check) instead of the ReleaseSafe one (optimized, checks kept)", false)
    .addOption(new Option("--release", "the default (kept for older scripts)").hideHelp())
    .option("--json", "machine-readable result on stdout", false)
    .action(async (o: { debug: boolean; release?: boolean; json: boolean }) => {
      const project = loadProject(p.opts().dir);
      const r = await build(project, { release: releaseKernel(o), progress: o.json ? () => {} : note });
      if (o.json) out(`${JSON.stringify(r)}\n`);
      else note(r.upToDate ? `up to date (${r.mode})` : `built ${r.mode} in ${r.seconds.toFixed(1)} s: ${r.kernel}, ${r.workload}`);
    });

  p.command("pack")
    .description("make the bootable image in dist/<name>/: kernel, root image, Firecracker config")
    .option("--debug", "with the Debug kernel instead of the ReleaseSafe one", false)
    .addOption(new Option("--release", "the default (kept for older scripts)").hideHelp())
    .option("--json", "machine-readable result on stdout", false)
    .action(async (o: { debug: boolean; release?: boolean; json: boolean }) => {
      const project = loadProject(p.opts().dir);
      const r = await pack(project, { release: releaseKernel(o), progress: o.json ? () => {} : note });
      if (o.json) out(`${JSON.stringify(r)}\n`);
      else note(`${r.upToDate ? "up to date" : "packed"}: ${r.dir} (run it with: cd ${r.dir} && firecracker --no-api --config-file firecracker.json)`);
    });

  p.command("run")
    .description("boot the workload in a microVM, stream its console, exit with its status")
    .addOption(new Option("--vmm <vmm>", "override vm.vmm").choices(["qemu", "firecracker"]))
    .option("--timeout <seconds>", "override vm.timeout_s", (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new UserError(`--timeout ${v}: expected a positive number of seconds`);
      return n;
    })
    .option("--debug", "run the Debug kernel instead of the ReleaseSafe one", false)
    .option("--verbose", "the kernel's boot details (image, clock, protections, boot phases, gate) instead of its one boot line", false)
    .option("--snapshot", "start from a snapshot taken at the workload's ready point, before its first line runs (Firecracker; made on the first run and whenever the image changes, kept in .ukernel/snapshots)", false)
    .addOption(new Option("--release", "the default (kept for older scripts)").hideHelp())
    .option("--json", "no console on stdout; the run's result as JSON at the end", false)
    .action(async (o: { vmm?: "qemu" | "firecracker"; timeout?: number; debug: boolean; release?: boolean; verbose: boolean; snapshot: boolean; json: boolean }) => {
      const project = loadProject(p.opts().dir);
      const r = await runProject(project, {
        vmm: o.vmm,
        timeoutS: o.timeout,
        release: releaseKernel(o),
        verbose: o.verbose,
        snapshot: o.snapshot,
        onConsole: o.json ? () => {} : out,
        note: o.json ? () => {} : note,
      });
      if (o.json) out(`${JSON.stringify(r)}\n`);
      else if (r.outcome === "timeout") note(`timed out after ${o.timeout ?? project.config.vm.timeout_s} s: VM stopped (run ${r.id})`);
      else if (r.outcome === "interrupted") note(`interrupted: VM stopped, console kept (run ${r.id})`);
      else if (r.outcome === "no-exit-line") note(`the guest ended without an exit status (run ${r.id})`);
      else note(`exit status ${r.status} (run ${r.id}, ${r.wallMs} ms)`);
      process.exitCode = r.exitCode;
    });

  p.command("logs")
    .description("show a run's console (the latest by default)")
    .argument("[run]", "run id or a prefix of it")
    .option("-f, --follow", "keep printing until the run ends", false)
    .action(async (id: string | undefined, o: { follow: boolean }) => {
      const project = loadProject(p.opts().dir);
      await logs(project.dir, id, o.follow, out);
    });

  p.command("runs")
    .description("list the project's runs")
    .option("--json", "machine-readable", false)
    .action((o: { json: boolean }) => {
      const project = loadProject(p.opts().dir);
      const runs = listRuns(project.dir);
      if (o.json) {
        out(`${JSON.stringify(runs)}\n`);
        return;
      }
      if (runs.length === 0) out("no runs yet\n");
      for (const r of runs) {
        out("status" in r ? `${r.id}  ${r.outcome.padEnd(12)} status ${String(r.status ?? "-").padEnd(4)} ${r.vmm}/${r.accel}  ${r.wallMs} ms${r.snapshot ? `  snapshot ${r.snapshot.made ? "made" : "restored"}` : ""}\n` : `${r.id}  running\n`);
      }
    });

  p.command("adapter")
    .description("run the workload on the host against libukernel_abi.so, under the same policy (Python: asyncio; TypeScript: Node)")
    .action(async () => {
      const project = loadProject(p.opts().dir);
      process.exitCode = await adapter(project, { out, err: (s) => process.stderr.write(s), note });
    });
  p.addCommand(remoteCommand(() => p.opts().dir));
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // help, version, usage errors
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ""}`);
      return err.exitCode;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
