/**
 * `ukernel pack [--release]`: the bootable image in dist/<name>/:
 *   zigu.elf          the kernel (PVH note and Linux 64-bit entry)
 *   rootfs.img        a POSIX tar (ustar) of manifest.json, policy (capabilities and the memory
 *                     limit) and workload.elf (and, for a TypeScript workload, main.qjbc, the
 *                     bundle as the bytecode the runtime runs); the kernel reads it from a
 *                     read-only virtio-blk device (`tar tf rootfs.img` lists it) and maps it
 *                     read-only into the workload
 *   firecracker.json  `firecracker --no-api --config-file firecracker.json`, run from that folder
 * Byte-identical for identical inputs (fixed mtimes, portable tar headers).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { withLock } from "../lock.ts";
import { createHash } from "node:crypto";
import { resolveDestinations, type Project } from "../config.ts";
import { build, type BuildOutput } from "./build.ts";
import { firecrackerConfig } from "../vmm/firecracker.ts";
import { abiVersion } from "../abi.generated.ts";

export interface PackOutput {
  dir: string;
  kernel: string;
  rootfs: string;
  firecrackerConfig: string;
  /** The kernel command line the image boots with. */
  cmdline: string;
  upToDate: boolean;
}

/** The image's manifest: what the workload is and what it may do. */
export interface Manifest {
  name: string;
  runtime: string;
  entry: string;
  abi_version: number;
  capabilities: string[];
  /** workload.memory_limit_mib of ukernel.toml; null: what the guest's RAM allows. */
  memory_limit_mib: number | null;
  workload_sha256: string;
  build: "debug" | "release";
}

/**
 * The root image's `policy` file, which the kernel reads (at most 4096 bytes): the capability
 * names on the first line, then `memory_limit_mib=N` when ukernel.toml sets a limit, then the
 * network policy's `net.*` lines (kernel/core/netpolicy.zig) when it has a [network] section.
 */
export function policyFile(project: Project, connect = project.config.network?.connect ?? []): string {
  const { config } = project;
  const limit = config.workload.memory_limit_mib;
  const net = config.network;
  const netLines = net
    ? [`net.address=${net.address}`, `net.gateway=${net.gateway}`, `net.dns=${net.dns}`, `net.listen=${net.listen.join(",")}`, `net.connect=${connect.join(",")}`].map((l) => `${l}\n`).join("")
    : "";
  return `${config.capabilities.allow.join(",")}\n${limit === undefined ? "" : `memory_limit_mib=${limit}\n`}${netLines}`;
}

/** Where the data of the entry `name` starts in a ustar archive (-1: not there). */
export function tarDataOffset(tar: Buffer, name: string): number {
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const entry = header.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
    const size = parseInt(header.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    if (entry === name) return at + 512;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return -1;
}

/** The packed image's command line; `host` (what this host's launcher knows: src/hostfacts.ts)
 * goes before vm.kernel_args, whose options win (the kernel reads the last of each). */
export function imageCmdline(project: Project, host = ""): string {
  return ["console=ttyS0", "zigu.workload=disk", host, project.config.vm.kernel_args].filter(Boolean).join(" ");
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Whether `.inputs` records these inputs and every output is there with the bytes it recorded. */
function packedFrom(stampPath: string, stamp: string, outputs: string[]): boolean {
  if (!existsSync(stampPath)) return false;
  let recorded: { stamp?: string; outputs?: Record<string, string> };
  try {
    recorded = JSON.parse(readFileSync(stampPath, "utf8"));
  } catch {
    return false; // an older .inputs (plain text), or a damaged one
  }
  if (recorded.stamp !== stamp) return false;
  return outputs.every((f) => existsSync(f) && recorded.outputs?.[basename(f)] === sha256File(f));
}

export async function pack(project: Project, opts: { release: boolean; progress: (line: string) => void }): Promise<PackOutput> {
  const built = await build(project, opts);
  // One pack of a project at a time: a second `ukernel run` waits, then finds it packed.
  return withLock(join(project.dir, ".ukernel", "pack.lock"), { what: "packing this project", timeoutMs: 10 * 60_000, note: opts.progress }, () => packBuilt(project, built, opts));
}

async function packBuilt(project: Project, built: BuildOutput, opts: { release: boolean; progress: (line: string) => void }): Promise<PackOutput> {
  const { config } = project;
  const dir = join(project.dir, "dist", config.workload.name);
  const out: PackOutput = {
    dir,
    kernel: join(dir, "zigu.elf"),
    rootfs: join(dir, "rootfs.img"),
    firecrackerConfig: join(dir, "firecracker.json"),
    cmdline: imageCmdline(project),
    upToDate: false,
  };
  const stampPath = join(dir, ".inputs");
  // Host names in [network] connect are resolved now, on the host: the image carries addresses.
  const policy = policyFile(project, await resolveDestinations(config.network?.connect ?? []));
  const fcConfig = firecrackerConfig({ kernel: "zigu.elf", cmdline: out.cmdline, memMiB: config.vm.memory_mib, vcpus: config.vm.vcpus, drive: "rootfs.img", logPath: "firecracker.log" });
  const processJson = config.workload.runtime === "typescript" ? `${JSON.stringify({ argv: config.workload.args, env: config.env })}\n` : "";
  const stamp = `${built.inputsHash}:${built.mode}:${createHash("sha256").update(policy).update("\0").update(processJson).update("\0").update(JSON.stringify(fcConfig)).digest("hex")}`;
  // Up to date when the inputs are the same and the outputs are the bytes this pack wrote (a
  // truncated or deleted image or kernel is packed again, not booted).
  if (packedFrom(stampPath, stamp, [out.rootfs, out.kernel, out.firecrackerConfig])) return { ...out, upToDate: true };
  if (existsSync(stampPath)) opts.progress(`repacking ${dir}: its inputs changed, or a packed file is missing or was changed`);

  rmSync(dir, { recursive: true, force: true });
  const staging = join(dir, ".rootfs");
  mkdirSync(staging, { recursive: true });
  const workload = readFileSync(built.workload);
  const manifest: Manifest = {
    name: config.workload.name,
    runtime: config.workload.runtime,
    entry: config.workload.entry,
    abi_version: abiVersion,
    capabilities: config.capabilities.allow,
    memory_limit_mib: config.workload.memory_limit_mib ?? null,
    workload_sha256: createHash("sha256").update(workload).digest("hex"),
    build: built.mode,
  };
  writeFileSync(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(staging, "policy"), policy);
  writeFileSync(join(staging, "workload.elf"), workload);
  // A TypeScript workload's arguments and environment (ukernel.toml: [workload] args, [env]),
  // which the runtime's prelude reads into process.argv and process.env.
  const extra = Object.keys(built.files).sort();
  for (const name of extra) copyFileSync(built.files[name]!, join(staging, name));
  if (config.workload.runtime === "typescript") {
    writeFileSync(join(staging, "process.json"), processJson);
    extra.push("process.json");
  }
  // `.pad` first, so that workload.elf's data starts at 4 KiB (512-byte headers: .pad's at 0, its
  // 3072 bytes, workload.elf's header at 3584): the kernel maps the workload's read-only segments
  // straight from the image's pages instead of copying them (kernel/workload/loader.zig).
  writeFileSync(join(staging, ".pad"), Buffer.alloc(3072));
  const { create: createTar } = await import("tar"); // only when packing: ~20 ms of start-up otherwise
  await createTar({ file: out.rootfs, cwd: staging, portable: true, mtime: new Date(0), noDirRecurse: true }, [".pad", "workload.elf", "manifest.json", "policy", ...extra]);
  const elfAt = tarDataOffset(readFileSync(out.rootfs), "workload.elf");
  if (elfAt % 4096 !== 0) throw new Error(`internal: workload.elf's data at offset ${elfAt} of the root image, not on a 4 KiB boundary`);
  rmSync(staging, { recursive: true });
  copyFileSync(built.kernel, out.kernel);
  writeFileSync(out.firecrackerConfig, `${JSON.stringify(fcConfig, null, 2)}\n`);
  writeFileSync(join(dir, "firecracker.log"), ""); // Firecracker opens, but does not create, its log
  writeFileSync(stampPath, JSON.stringify({ stamp, outputs: Object.fromEntries([out.rootfs, out.kernel, out.firecrackerConfig].map((f) => [basename(f), sha256File(f)])) }, null, 2));
  opts.progress(`packed ${dir}`);
  return out;
}
