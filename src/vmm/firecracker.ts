/**
 * Booting the kernel on Firecracker (`firecracker --no-api --config-file`). Firecracker is in no
 * package registry: it must be on PATH (built from its public source), and callers skip otherwise.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../proc.ts";
import { guestEnd } from "../console.ts";
import type { BootResult } from "./qemu.ts";

let version: { value: string | undefined } | undefined;

/** The version of the `firecracker` on PATH (asked once per process), or undefined. */
export function firecrackerVersion(): string | undefined {
  if (version) return version.value;
  try {
    const out = execFileSync("firecracker", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    version = { value: /Firecracker v(\S+)/.exec(out)?.[1] };
  } catch {
    version = { value: undefined };
  }
  return version.value;
}

export interface FirecrackerDrive {
  drive_id: string;
  path_on_host: string;
  is_root_device: boolean;
  is_read_only: boolean;
}

/** The `--config-file` document (Firecracker's docs/getting-started.md, "Configuring the microVM without sending API requests"). */
export interface FirecrackerConfig {
  "boot-source": { kernel_image_path: string; boot_args: string; initrd_path?: string };
  drives: FirecrackerDrive[];
  "machine-config": { vcpu_count: number; mem_size_mib: number };
  "network-interfaces"?: { iface_id: string; host_dev_name: string; guest_mac: string }[];
  logger?: { log_path: string; level: "Error" | "Warning" | "Info" | "Debug" };
}

export function firecrackerConfig(o: { kernel: string; cmdline: string; memMiB?: number; vcpus?: number; initrd?: string; drive?: string; logPath?: string; tap?: string }): FirecrackerConfig {
  return {
    "boot-source": { kernel_image_path: o.kernel, boot_args: o.cmdline, ...(o.initrd ? { initrd_path: o.initrd } : {}) },
    // Firecracker refuses a config without "drives", even an empty one. The root image is no
    // root file system for a Linux: is_root_device stays false, and the kernel reads it itself.
    drives: o.drive ? [{ drive_id: "rootfs", path_on_host: o.drive, is_root_device: false, is_read_only: true }] : [],
    "machine-config": { vcpu_count: o.vcpus ?? 1, mem_size_mib: o.memMiB ?? 256 },
    // virtio-net over a TAP device the launcher made (tap.ts); the MAC is QEMU's default, so the
    // guest looks the same on both VMMs.
    ...(o.tap ? { "network-interfaces": [{ iface_id: "net0", host_dev_name: o.tap, guest_mac: "52:54:00:12:34:56" }] } : {}),
    ...(o.logPath ? { logger: { log_path: o.logPath, level: "Info" as const } } : {}),
  };
}

export async function bootFirecracker(o: {
  kernel: string;
  cmdline: string;
  memMiB?: number;
  initrd?: string;
  drive?: string;
  tap?: string;
  timeoutMs: number;
  onConsole?: (chunk: string) => void;
}): Promise<BootResult & { log: string }> {
  const dir = mkdtempSync(join(tmpdir(), "zigu-fc-"));
  try {
    const cfgPath = join(dir, "config.json");
    const logPath = join(dir, "firecracker.log");
    // Firecracker gives x86 guests no RTC: the launcher's clock is the guest's wall clock.
    const cmdline = `${o.cmdline} zigu.epoch_ns=${BigInt(Date.now()) * 1_000_000n}`;
    writeFileSync(cfgPath, JSON.stringify(firecrackerConfig({ ...o, cmdline }), null, 2));
    writeFileSync(logPath, "");
    // With --log-path the VMM's own log stays out of the serial console on stdout; Debug level
    // is where it says which boot protocol it used.
    const command = ["firecracker", "--no-api", "--config-file", cfgPath, "--log-path", logPath, "--level", "Debug"];
    const vmm = await run(command, { timeoutMs: o.timeoutMs, onStdout: o.onConsole });
    const log = readFileSync(logPath, "utf8");
    return { command, console: vmm.stdout, end: guestEnd(vmm.stdout), timedOut: vmm.timedOut, wallMs: vmm.wallMs, vmm, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
