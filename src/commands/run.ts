/**
 * `ukernel run`: builds and packs if needed, boots the packed image (kernel + read-only virtio-blk
 * root image carrying the workload and its policy), streams the console, stores the run, and
 * returns the workload's exit status (124 on timeout, 130 on Ctrl-C, 1 if the guest gave none).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { forwards, type Project } from "../config.ts";
import { imageCmdline, pack } from "./pack.ts";
import { hostArgs, learnFromBoot } from "../hostfacts.ts";
import { bootQemu, resolveAccel, requireQemu, qemuCommand, type Accel, type BootResult } from "../vmm/qemu.ts";
import { bootFirecracker, firecrackerConfig, firecrackerVersion } from "../vmm/firecracker.ts";
import { appendConsole, newRun, type RunResult } from "../runs.ts";
import { killAll, quoteCommand } from "../proc.ts";
import { UserError } from "../errors.ts";
import { forwardPorts, makeTap } from "../vmm/tap.ts";
import { createSnapshot, findSnapshot, restoreSnapshot, snapshotKey, type SnapshotSource } from "../vmm/snapshot.ts";
import { withLock } from "../lock.ts";

export interface RunOptions {
  vmm?: "qemu" | "firecracker";
  timeoutS?: number;
  release: boolean;
  /** The kernel's boot details on the console (`zigu.verbose=1`) instead of its one boot line. */
  verbose?: boolean;
  /** Start by restoring a snapshot taken at the workload's ready point (Firecracker), made first if needed. */
  snapshot?: boolean;
  onConsole: (chunk: string) => void;
  note: (line: string) => void;
}

export async function runProject(project: Project, opts: RunOptions): Promise<RunResult> {
  if (opts.snapshot && opts.vmm === "qemu") throw new UserError("--snapshot needs Firecracker: QEMU microvm starts cold", "drop --vmm qemu (--snapshot runs on Firecracker whatever vm.vmm says)");
  const vmm = opts.snapshot ? "firecracker" : (opts.vmm ?? project.config.vm.vmm);
  const timeoutS = opts.timeoutS ?? project.config.vm.timeout_s;
  if (vmm === "qemu") requireQemu();
  if (vmm === "firecracker" && !firecrackerVersion()) {
    throw new UserError("firecracker not found on PATH", "build Firecracker from its public source (cargo build --release) and put the binary on PATH, or use --vmm qemu");
  }
  const image = await pack(project, { release: opts.release, progress: opts.note });
  const { id, dir } = newRun(project.dir);
  const resolved = vmm === "qemu" ? resolveAccel(project.config.vm.accel) : { accel: "kvm" as Accel };
  // What an earlier boot on this host learnt (the gate, the TSC frequency): no probe this time.
  const cmdline = `${imageCmdline(project, hostArgs(vmm, resolved.accel))}${opts.verbose ? " zigu.verbose=1" : ""}`;
  const memMiB = project.config.vm.memory_mib;
  const net = project.config.network;
  const common = {
    net: net ? { kind: "user" as const, forwards: forwards(net) } : undefined,
    kernel: image.kernel,
    drive: image.rootfs,
    cmdline,
    memMiB,
    timeoutMs: timeoutS * 1000,
    onConsole: (c: string) => {
      appendConsole(dir, c);
      opts.onConsole(c);
    },
  };
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    killAll();
  };
  process.once("SIGINT", onSigint);
  const startedAt = new Date().toISOString();
  const accel: Accel = resolved.accel;
  let result: BootResult & { log?: string; snapshot?: RunResult["snapshot"] };
  try {
    if (vmm === "firecracker") {
      // The network: a TAP device for this run (root), removed when it ends, and the forwards.
      const tap = net ? makeTap(`zigu${id.slice(-4)}${id.slice(9, 13)}`, net) : undefined;
      let forwarded: { close(): void } | undefined;
      try {
        if (tap) forwarded = await forwardPorts(tap.guest, common.net!.forwards);
        const fc = { ...common, tap: tap?.name };
        writeFileSync(join(dir, "vmm.json"), JSON.stringify({ vmm, config: firecrackerConfig(fc) }, null, 2));
        opts.note(`run ${id}: Firecracker v${firecrackerVersion()}${tap ? `, TAP device ${tap.name}` : ""}`);
        for (const f of common.net?.forwards ?? []) opts.note(`network: http://127.0.0.1:${f.host} -> guest ${tap!.guest}:${f.guest}`);
        result = opts.snapshot
          ? await snapshotStart(project, { kernel: image.kernel, drive: image.rootfs, cmdline, memMiB, tap: tap?.name }, common.timeoutMs, common.onConsole, opts.note)
          : await bootFirecracker(fc);
      } finally {
        forwarded?.close();
        tap?.remove();
      }
    } else {
      if ("note" in resolved && resolved.note) opts.note(resolved.note);
      writeFileSync(join(dir, "vmm.json"), JSON.stringify({ vmm, accel, command: quoteCommand(qemuCommand({ ...common, accel })) }, null, 2));
      opts.note(`run ${id}: QEMU microvm, ${accel.toUpperCase()}`);
      for (const f of common.net?.forwards ?? []) opts.note(`network: http://127.0.0.1:${f.host} -> guest :${f.guest}`);
      result = await bootQemu({ ...common, accel });
    }
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  learnFromBoot(vmm, accel, result.console);
  const outcome: RunResult["outcome"] = interrupted ? "interrupted" : result.timedOut ? "timeout" : result.end.kind === "exit" ? "exited" : "no-exit-line";
  if (outcome === "no-exit-line") {
    // The guest said nothing to end with: what the VMM itself said is the likeliest reason.
    const said = [result.vmm.stderr.trim(), (result.log ?? "").trim().split("\n").filter((l) => /ERROR|Error|error/.test(l)).join("\n")].filter(Boolean).join("\n");
    const how = result.vmm.signal ? `was killed by ${result.vmm.signal}` : `exited with status ${result.vmm.exitCode}`;
    opts.note(`${vmm === "qemu" ? "QEMU" : "Firecracker"} ${how}${said ? `, saying:\n${said.split("\n").slice(-20).join("\n")}` : " and said nothing"}`);
  }
  const status = result.end.kind === "exit" ? result.end.status : null;
  const exitCode = outcome === "exited" ? status! : outcome === "timeout" ? 124 : outcome === "interrupted" ? 130 : 1;
  const record: RunResult = { id, workload: project.config.workload.name, vmm, accel, startedAt, wallMs: Math.round(result.wallMs), status, outcome, exitCode };
  // The kernel's network counters (its last lines): frames moved and frames its policy dropped.
  const counters = /^zigu: net: frames out (\d+), in (\d+); dropped by the policy: out (\d+), in (\d+); kernel entries (\d+)/m.exec(result.console);
  if (result.snapshot) record.snapshot = result.snapshot;
  if (counters) record.network = { framesOut: Number(counters[1]), framesIn: Number(counters[2]), droppedOut: Number(counters[3]), droppedIn: Number(counters[4]), kernelEntries: Number(counters[5]) };
  writeFileSync(join(dir, "result.json"), JSON.stringify(record, null, 2));
  return record;
}

/**
 * A snapshot start: restores the project's snapshot of this exact VM (.ukernel/snapshots/), made
 * first by booting to the ready point when there is none or its inputs changed. The snapshot's
 * network interface (a TAP when [network] is set) is re-pointed to this run's device on restore.
 */
async function snapshotStart(project: Project, src: SnapshotSource, timeoutMs: number, onConsole: (c: string) => void, note: (line: string) => void) {
  const root = join(project.dir, ".ukernel", "snapshots");
  const key = snapshotKey(src);
  let snap = findSnapshot(root, key);
  if (snap) note(`snapshot ${snap.key}: restoring`);
  else {
    snap = await withLock(join(root, `.${key}.lock`), { what: "making this snapshot", timeoutMs, note }, async () => {
      const there = findSnapshot(root, key); // made by the run that held the lock
      if (there) {
        note(`snapshot ${there.key}: restoring`);
        return there;
      }
      note("snapshot: none for this image yet: booting to the ready point to make one");
      const made = await createSnapshot(root, src, { timeoutMs, onConsole });
      note(`snapshot ${made.key}: made (boot to ready ${Math.round(made.bootMs)} ms, snapshot ${Math.round(made.createMs)} ms); restoring`);
      return made;
    });
  }
  const made = "bootMs" in snap;
  const r = await restoreSnapshot(snap, { timeoutMs, tap: src.tap, onConsole });
  note(`snapshot ${snap.key}: restored in ${Math.round(r.restoreMs)} ms`);
  return { ...r, snapshot: { key: snap.key, made, restoreMs: Math.round(r.restoreMs) } };
}