/** `ukernel init [dir] [--runtime zig|typescript|python]`: a new project with a sample workload. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve, basename, relative, isAbsolute } from "node:path";
import { configFile, runtimes } from "../config.ts";
import { UserError } from "../errors.ts";
import { repoRoot } from "../zig.ts";
import { remoteFile } from "../remote/config.ts";

export type Runtime = (typeof runtimes)[number];

const samples: Record<Runtime, { entry: string; source: string; caps: string[] }> = {
  zig: {
    entry: "src/main.zig",
    caps: ["log", "time"],
    source: `//! A Zigu workload: it runs in ring 3 of its own microVM and reaches the kernel only through
//! the capability-gated ABI (see docs/kernel-abi.md in the Zigu repository).
const zigu = @import("zigu");

pub fn main() u8 {
    // A workload starts with no capabilities: it acquires and enters what ukernel.toml allows.
    zigu.enter(&.{ .log, .time }) catch return 3;
    zigu.log("hello from a Zigu workload");
    zigu.sleepNs(10 * 1_000_000) catch return 4;
    zigu.print("slept 10 ms, monotonic clock at {d} ns", .{zigu.nowNs()});
    return 0;
}
`,
  },
  typescript: {
    entry: "src/main.ts",
    caps: ["log", "time"],
    source: `// A Zigu workload in TypeScript. \`ukernel run\` runs it inside the microVM, in ring 3, on the
// embedded JavaScript engine; \`ukernel adapter\` runs the same program on the host.
// main's number is the exit status.
export default async function main(): Promise<number> {
  const started = Date.now();
  console.log("hello from a Zigu workload");
  await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(\`slept \${Date.now() - started >= 10 ? "at least" : "less than"} 10 ms\`);
  return 0;
}
`,
  },
  python: {
    entry: "main.py",
    caps: ["log", "time"],
    source: `"""A Zigu workload for the Python asyncio adapter: \`ukernel adapter\` runs it on the host."""
import asyncio


async def main() -> int:
    print("hello from a Zigu workload")
    await asyncio.sleep(0.01)
    return 0
`,
  },
};

export function configText(name: string, runtime: Runtime): string {
  const s = samples[runtime];
  return `# Zigu project: the workload, its microVM, and what it may do.
[workload]
name = "${name}"
entry = "${s.entry}"
runtime = "${runtime}"        # zig | typescript | python
${runtime === "typescript" ? 'args = []                   # process.argv after ["/zigu/js", "/main.js"]\n' : ""}
[vm]
vcpus = 1
memory_mib = 256
kernel_args = ""
vmm = "qemu"                # qemu | firecracker
accel = "auto"              # auto | kvm | tcg
timeout_s = 60

[capabilities]
# Capability kinds the workload may acquire: log, time, task, io, net, random.
allow = [${s.caps.map((c) => `"${c}"`).join(", ")}]
${runtime === "typescript" ? '\n[env]                       # process.env: NAME = "value"\n' : ""}`;
}

export interface InitResult {
  dir: string;
  files: string[];
}

/** What init puts in .gitignore: the build and run store, the packed image, `ukernel remote`'s file. */
export const ignored = [".ukernel/", "dist/", remoteFile];

export function init(dirArg: string | undefined, runtime: Runtime): InitResult {
  const dir = resolve(dirArg ?? ".");
  const inCheckout = relative(repoRoot, dir);
  if (!inCheckout.startsWith("..") && !isAbsolute(inCheckout)) {
    throw new UserError(`${dir} is inside the Zigu checkout (${repoRoot}): a project needs a folder of its own`, "ukernel init ~/my-app (any folder outside the checkout)");
  }
  if (existsSync(join(dir, configFile))) {
    throw new UserError(`${join(dir, configFile)} already exists: init never overwrites a project`, "pick an empty directory");
  }
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, "-").replace(/^[^a-z0-9]+/, "") || "workload";
  const sample = samples[runtime];
  const entryPath = join(dir, sample.entry);
  if (existsSync(entryPath)) throw new UserError(`${entryPath} already exists: init never overwrites a file`);
  mkdirSync(join(entryPath, ".."), { recursive: true });
  writeFileSync(join(dir, configFile), configText(name, runtime));
  writeFileSync(entryPath, sample.source);
  const gitignore = join(dir, ".gitignore");
  const have = existsSync(gitignore) ? readFileSync(gitignore, "utf8").split("\n").map((l) => l.trim()) : [];
  const add = ignored.filter((l) => !have.includes(l));
  if (add.length) writeFileSync(gitignore, `${have.length && have.at(-1) !== "" ? "\n" : ""}${add.join("\n")}\n`, { flag: "a" });
  return { dir, files: [configFile, sample.entry, ".gitignore"] };
}
