// Shared by the boot tests: one kernel build per mode, and the accelerators to run under.
import { buildKernel, type KernelBuild, type Optimize } from "../../src/zig.ts";
import { bootQemu, kvmUsable, type Accel, type BootResult, type QemuNet } from "../../src/vmm/qemu.ts";

const builds = new Map<Optimize, Promise<KernelBuild>>();

export function kernel(optimize: Optimize = "Debug"): Promise<KernelBuild> {
  let b = builds.get(optimize);
  if (!b) builds.set(optimize, (b = buildKernel(optimize)));
  return b;
}

/** TCG always; KVM too when /dev/kvm works. ZIGU_ACCEL=tcg|kvm narrows it. */
export function accelerators(): Accel[] {
  const all: Accel[] = kvmUsable() ? ["tcg", "kvm"] : ["tcg"];
  const only = process.env.ZIGU_ACCEL;
  return only ? all.filter((a) => a === only) : all;
}

/** A boot never waits longer than this: a hung guest fails its test, it never hangs the suite. */
export const bootTimeoutMs = 30_000;

/** The policy boots get unless a test gives its own `zigu.caps=`. */
export const defaultCaps = "log,time,random";

export async function boot(accel: Accel, cmdline: string, opts: { optimize?: Optimize; initrd?: string; timeoutMs?: number; memMiB?: number; net?: QemuNet; onConsole?: (chunk: string) => void } = {}): Promise<BootResult> {
  const k = await kernel(opts.optimize);
  const caps = cmdline.includes("zigu.caps=") ? "" : ` zigu.caps=${defaultCaps}`;
  return bootQemu({
    kernel: k.kernel,
    cmdline: `console=ttyS0 ${cmdline}${caps}`,
    accel,
    initrd: opts.initrd,
    memMiB: opts.memMiB,
    net: opts.net,
    onConsole: opts.onConsole,
    timeoutMs: opts.timeoutMs ?? bootTimeoutMs,
  });
}

export function lines(console: string): string[] {
  return console.replaceAll("\r", "").split("\n").filter((l) => l.length > 0);
}
