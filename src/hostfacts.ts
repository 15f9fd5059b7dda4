/**
 * What one boot learns about this host that the next need not learn again: the entry gate the
 * kernel's probe chose (per VMM and accelerator: `syscall` under TCG, `trap` under kvm-pvm) and
 * the TSC frequency KVM's clock gave it. The launcher passes them on the command line
 * (`zigu.gate=`, `zigu.tsc_hz=`), and the kernel neither probes nor reads kvmclock (~4 ms of an
 * emulated boot under kvm-pvm). Kept in $XDG_CACHE_HOME/zigu/host.json (~/.cache/zigu), keyed by
 * host name, kernel release and CPU model, so a copied home or a changed host learns afresh;
 * ZIGU_HOST_CACHE=off turns it off.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir, hostname, release, cpus } from "node:os";
import { dirname, join } from "node:path";

export type Vmm = "qemu" | "firecracker";

interface Facts {
  gates: Record<string, "syscall" | "trap">;
  tscHz?: number;
}

function cachePath(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "zigu", "host.json");
}

function hostKey(): string {
  return `${hostname()}|${release()}|${cpus()[0]?.model ?? "?"}`;
}

function enabled(): boolean {
  return process.env.ZIGU_HOST_CACHE !== "off";
}

function load(): Record<string, Facts> {
  try {
    const all = JSON.parse(readFileSync(cachePath(), "utf8")) as unknown;
    return all && typeof all === "object" ? (all as Record<string, Facts>) : {};
  } catch {
    return {}; // none yet, or unreadable: learn again
  }
}

/** The command-line options the launcher can add for `vmm`/`accel` on this host ("" when none). */
export function hostArgs(vmm: Vmm, accel: string): string {
  if (!enabled()) return "";
  const facts = load()[hostKey()];
  if (!facts) return "";
  const gate = facts.gates?.[`${vmm}-${accel}`];
  const hz = facts.tscHz;
  return [gate === "syscall" || gate === "trap" ? `zigu.gate=${gate}` : "", Number.isInteger(hz) && hz! >= 10_000_000 && hz! <= 100_000_000_000 ? `zigu.tsc_hz=${hz}` : ""].filter(Boolean).join(" ");
}

/** Learns from a boot's console: a probed gate, and a TSC frequency read from kvmclock. */
export function learnFromBoot(vmm: Vmm, accel: string, console: string): void {
  if (!enabled()) return;
  const gate = /^zigu \S+: boot \d+ us, gate (syscall|trap) \(probed\)/m.exec(console) ?? /^zigu: gate (syscall|trap) \(probed\)/m.exec(console);
  const tsc = /tsc (\d+) kHz \(kvmclock\)/.exec(console);
  if (!gate && !tsc) return;
  const all = load();
  const facts: Facts = all[hostKey()] ?? { gates: {} };
  facts.gates ??= {};
  if (gate) facts.gates[`${vmm}-${accel}`] = gate[1] as "syscall" | "trap";
  if (tsc) facts.tscHz = Number(tsc[1]) * 1000;
  all[hostKey()] = facts;
  try {
    const path = cachePath();
    if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
    renameSync(tmp, path); // whole or not at all, with runs side by side
  } catch {
    // A read-only home only costs the next boot its probe.
  }
}
