/**
 * `npm run boot`: build the kernel and boot a workload (the sample by default) in a microVM,
 * streaming its console; exits with the workload's exit status. The `ukernel run` command of the
 * CLI will grow from this.
 */
import { parseArgs } from "node:util";
import { buildKernel, builtinWorkloads, releaseOptimize, withTicker, zigCacheCold, type Optimize } from "../zig.ts";
import { bootQemu, resolveAccel, requireQemu, type AccelRequest } from "../vmm/qemu.ts";
import { bootFirecracker, firecrackerVersion } from "../vmm/firecracker.ts";
import { quoteCommand } from "../proc.ts";
import { UserError } from "../errors.ts";
import { capabilities } from "../../abi/spec.ts";

const usage = `usage: npm run boot -- [options]

Builds the kernel and boots a workload in a microVM, streaming the serial console.
Exits with the workload's exit status (124 on timeout, 1 if the guest gave none).

options:
  --workload NAME   built-in workload: hello (default), or one of the README's list
                    (build.zig builds them in)
  --accel MODE      auto (default: KVM when /dev/kvm works, else TCG), kvm, tcg
  --vmm VMM         qemu (default) or firecracker (must be on PATH)
  --debug           boot the Debug kernel (unoptimized, every check) instead of the release one
                    (ReleaseSafe: optimized, checks kept), which is the default
  --verbose         the kernel's boot details (several console lines) instead of one short line
  --gate GATE       kernel entry gate: auto (default, probed), syscall, trap
  --caps LIST       capability policy: kinds the workload may acquire (default log,time,random,task;
                    empty: none)
  --timeout S       stop the VM after S seconds (default 60)
  -h, --help        this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workload: { type: "string", default: "hello" },
      accel: { type: "string", default: "auto" },
      vmm: { type: "string", default: "qemu" },
      debug: { type: "boolean", default: false },
      // Accepted for the scripts of before the release kernel became the default.
      release: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      gate: { type: "string", default: "auto" },
      caps: { type: "string", default: "log,time,random,task" },
      timeout: { type: "string", default: "60" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!["auto", "kvm", "tcg"].includes(values.accel)) throw new UserError(`--accel ${values.accel}: expected auto, kvm or tcg`);
  if (!["qemu", "firecracker"].includes(values.vmm)) throw new UserError(`--vmm ${values.vmm}: expected qemu or firecracker`);
  if (!["auto", "syscall", "trap"].includes(values.gate)) throw new UserError(`--gate ${values.gate}: expected auto, syscall or trap`);
  const known = capabilities.map((c) => c.name.slice(4).toLowerCase());
  const unknown = values.caps.split(",").filter((c) => c && !known.includes(c));
  if (unknown.length) throw new UserError(`--caps: unknown capability ${unknown.join(", ")}`, `known: ${known.join(", ")}`);
  const workloads = builtinWorkloads();
  if (!workloads.includes(values.workload)) throw new UserError(`--workload ${values.workload}: no such built-in workload`, `built in: ${workloads.join(", ")}`);
  const timeoutS = Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UserError(`--timeout ${values.timeout}: expected a positive number of seconds`);

  if (values.debug && values.release) throw new UserError("--debug and --release: pick one");
  const optimize: Optimize = values.debug ? "Debug" : releaseOptimize;
  if (values.vmm === "qemu") requireQemu();
  const say = (line: string) => process.stderr.write(`[zigu] ${line}\n`);
  say(`building kernel (${optimize})...`);
  if (zigCacheCold()) say("Zig's caches are cold: this first build compiles Zig's build runner and the kernel from scratch (a few minutes)");
  const build = await withTicker("building the kernel", say, () => buildKernel(optimize));
  const cmdline = `console=ttyS0 zigu.workload=${values.workload} zigu.gate=${values.gate} zigu.caps=${values.caps}${values.verbose ? " zigu.verbose=1" : ""}`;
  const common = { kernel: build.kernel, cmdline, timeoutMs: timeoutS * 1000, onConsole: (c: string) => process.stdout.write(c) };

  let result;
  if (values.vmm === "firecracker") {
    const version = firecrackerVersion();
    if (!version) throw new UserError("firecracker not found on PATH", "build it from its public source with cargo and put the binary on PATH");
    process.stderr.write(`[zigu] booting on Firecracker v${version} (KVM)\n`);
    result = await bootFirecracker(common);
  } else {
    const { accel, note } = resolveAccel(values.accel as AccelRequest);
    if (note) process.stderr.write(`[zigu] ${note}\n`);
    process.stderr.write(`[zigu] booting on QEMU microvm with ${accel.toUpperCase()}\n`);
    result = await bootQemu({ ...common, accel });
  }
  process.stderr.write(`[zigu] vmm: ${quoteCommand(result.command)}\n`);
  if (result.timedOut) {
    process.stderr.write(`[zigu] timed out after ${timeoutS} s: VM stopped\n`);
    return 124;
  }
  if (result.end.kind !== "exit") {
    process.stderr.write(`[zigu] the guest ended without an exit line (VMM exit code ${result.vmm.exitCode})\n${result.vmm.stderr}`);
    return 1;
  }
  process.stderr.write(`[zigu] workload exit status ${result.end.status} (${Math.round(result.wallMs)} ms)\n`);
  return result.end.status;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ""}`);
      process.exit(2);
    }
    if (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`error: ${err.message}\n${usage}\n`);
      process.exit(2);
    }
    throw err;
  },
);
