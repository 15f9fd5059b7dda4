/** Booting the kernel on QEMU's microvm machine, with KVM when /dev/kvm works and TCG otherwise. */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { run, type RunResult } from "../proc.ts";
import { guestEnd, type GuestEnd } from "../console.ts";
import { UserError } from "../errors.ts";

export type Accel = "kvm" | "tcg";
export type AccelRequest = Accel | "auto";

export function kvmUsable(): boolean {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveAccel(requested: AccelRequest): { accel: Accel; note?: string } {
  if (requested === "tcg") return { accel: "tcg" };
  if (kvmUsable()) return { accel: "kvm" };
  if (requested === "kvm") {
    throw new UserError("KVM was asked for but /dev/kvm is missing or not writable", "use --accel tcg, or run where /dev/kvm exists and your user may open it");
  }
  return { accel: "tcg", note: "/dev/kvm is not usable: falling back to TCG (software emulation)" };
}

export const qemuBinary = "qemu-system-x86_64";

let qemuFound = false;

/** Checks once per process that QEMU runs (every boot used to spawn `qemu --version` first). */
/** Whether an executable `name` is on PATH (a look, not a spawn: `qemu --version` cost ~50 ms of
 * every `ukernel run`). */
function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => {
    if (!d) return false;
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function requireQemu(): void {
  if (qemuFound) return;
  try {
    if (!onPath(qemuBinary)) throw new Error("not on PATH");
    qemuFound = true;
  } catch {
    throw new UserError(`${qemuBinary} not found`, "run ./scripts/setup (it installs Debian's qemu-system-x86), or: sudo apt-get install -y qemu-system-x86");
  }
}

export interface BootOptions {
  kernel: string;
  /** Kernel command line; the kernel reads zigu.* options from it. */
  cmdline: string;
  accel: Accel;
  memMiB?: number;
  initrd?: string;
  /** A raw disk image, attached read-only as a virtio-blk device (the packed root image). */
  drive?: string;
  /** A virtio-net device. */
  net?: QemuNet;
  timeoutMs: number;
  onConsole?: (chunk: string) => void;
}

/** A TCP port on the host forwarded to one in the guest. */
export interface PortForward {
  host: number;
  guest: number;
  /** Host address to listen on (default 127.0.0.1: nothing outside this machine reaches the guest). */
  hostAddress?: string;
}

/**
 * The guest's network: QEMU's user network (slirp: no root, the guest is 10.0.2.15 behind a NAT,
 * the host is 10.0.2.2, DNS 10.0.2.3) with host port forwards, or raw frames over a socket to a
 * frame proxy (`-netdev stream`, for the loss tests).
 */
export type QemuNet =
  | { kind: "user"; forwards: PortForward[]; mac?: string }
  | { kind: "stream"; socketPath: string; mac?: string };

export function qemuNetArgs(net: QemuNet): string[] {
  const netdev = net.kind === "user"
    ? ["user", "id=n0", "ipv6=off", ...net.forwards.map((f) => `hostfwd=tcp:${f.hostAddress ?? "127.0.0.1"}:${f.host}-:${f.guest}`)].join(",")
    : `stream,id=n0,server=off,addr.type=unix,addr.path=${net.socketPath}`;
  return ["-netdev", netdev, "-device", `virtio-net-device,netdev=n0${net.mac ? `,mac=${net.mac}` : ""}`];
}

export interface BootResult {
  command: string[];
  console: string;
  end: GuestEnd;
  timedOut: boolean;
  wallMs: number;
  vmm: RunResult;
}

export function qemuCommand(o: Omit<BootOptions, "timeoutMs" | "onConsole">): string[] {
  const cpu = o.accel === "kvm"
    // -cpu host aborts on this nested kvm-pvm ("failed to set MSR 0x10a") unless arch-capabilities is off.
    ? ["-enable-kvm", "-cpu", "host,-arch-capabilities"]
    : ["-accel", "tcg", "-cpu", "max"];
  return [
    qemuBinary,
    // acpi=off: virtio-mmio devices are listed on the command line. rtc=on: the guest's wall
    // clock (microvm leaves the RTC out under KVM by default).
    "-M", "microvm,acpi=off,rtc=on",
    ...cpu,
    "-m", String(o.memMiB ?? 256),
    "-smp", "1",
    "-nodefaults", "-no-user-config", "-nographic",
    "-serial", "stdio",
    // The guest stops the VM through the i8042 reset line; -no-reboot turns the reset into an exit.
    "-device", "i8042", "-no-reboot",
    // virtio-mmio version 2 (modern), as Firecracker presents it: the kernel drives only that.
    ...(o.drive || o.net ? ["-global", "virtio-mmio.force-legacy=false"] : []),
    ...(o.drive ? ["-drive", `id=root,file=${o.drive},format=raw,if=none,readonly=on`, "-device", "virtio-blk-device,drive=root"] : []),
    ...(o.net ? qemuNetArgs(o.net) : []),
    "-kernel", o.kernel,
    ...(o.initrd ? ["-initrd", o.initrd] : []),
    "-append", o.cmdline,
  ];
}

export async function bootQemu(o: BootOptions): Promise<BootResult> {
  requireQemu();
  const command = qemuCommand(o);
  const vmm = await run(command, { timeoutMs: o.timeoutMs, onStdout: o.onConsole });
  return { command, console: vmm.stdout, end: guestEnd(vmm.stdout), timedOut: vmm.timedOut, wallMs: vmm.wallMs, vmm };
}
