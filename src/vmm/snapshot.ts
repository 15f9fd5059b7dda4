/**
 * Snapshot starts on Firecracker (docs/snapshots.md). The first run boots the image in API mode
 * with `zigu.snapshot=1`, waits for the kernel's `zigu: ready` line (the workload's `ready` call:
 * the TypeScript runtime makes it once the program is loaded, before its first line runs), pauses
 * the VM and writes a full snapshot next to a copy of the image; every run then starts by restoring
 * it in a new Firecracker process and writing the host's clock to the guest's serial input (a named
 * FIFO: Firecracker reads stdin only from a tty or a FIFO, and Node's "pipe" is a socket). The
 * snapshot's key hashes everything the VM was made from (kernel, image, command line, memory,
 * Firecracker's version): a changed image makes a new one, and the old one is removed.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../proc.ts";
import { guestEnd } from "../console.ts";
import { UserError } from "../errors.ts";
import { firecrackerVersion } from "./firecracker.ts";
import type { BootResult } from "./qemu.ts";

/** The line the kernel prints at the ready point (kernel/snapshot.zig). */
export const readyLine = "zigu: ready";

export interface SnapshotSource {
  kernel: string;
  /** The root image (a read-only virtio-blk device); none for a built-in workload. */
  drive?: string;
  /** The kernel command line, without zigu.epoch_ns (the launcher adds it). */
  cmdline: string;
  memMiB: number;
  /** A TAP device for the snapshot's network interface (restores re-point it to their own). */
  tap?: string;
}

export interface Snapshot {
  dir: string;
  key: string;
  state: string;
  memory: string;
}

/** The key of the snapshot a source makes: a hash of every input of the VM. */
export function snapshotKey(src: SnapshotSource): string {
  const h = createHash("sha256");
  h.update(`firecracker ${firecrackerVersion()}\0mem ${src.memMiB}\0net ${src.tap ? "yes" : "no"}\0cmdline ${src.cmdline}\0`);
  h.update(readFileSync(src.kernel));
  h.update("\0");
  if (src.drive) h.update(readFileSync(src.drive));
  return h.digest("hex").slice(0, 24);
}

function snapshotAt(root: string, key: string): Snapshot {
  const dir = join(root, key);
  return { dir, key, state: join(dir, "vm.snap"), memory: join(dir, "vm.mem") };
}

/** The complete snapshot for `key` under `root`, or undefined. */
export function findSnapshot(root: string, key: string): Snapshot | undefined {
  const s = snapshotAt(root, key);
  return existsSync(join(s.dir, "snapshot.json")) && existsSync(s.state) && existsSync(s.memory) ? s : undefined;
}

/** A Firecracker API call over its Unix socket; a refusal is an Error with Firecracker's fault message. */
async function api(sock: string, method: "PUT" | "PATCH", path: string, body: unknown): Promise<void> {
  const { request } = await import("node:http"); // snapshot starts only: not in every CLI start
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: sock, method, path, headers: { "Content-Type": "application/json", Accept: "application/json", "Content-Length": Buffer.byteLength(data) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          if ((res.statusCode ?? 0) < 300) return resolve();
          let fault = text;
          try {
            fault = (JSON.parse(text) as { fault_message?: string }).fault_message ?? text;
          } catch {
            // not JSON: keep the text
          }
          reject(new Error(`Firecracker ${method} ${path}: ${res.statusCode} ${fault}`));
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** Whether something accepts connections on the Unix socket `path` now. */
async function accepting(path: string): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const c = connect(path);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** Waits until Firecracker accepts connections on its API socket. The file appears when it binds,
 * a moment before it listens: a connection then is refused (seen on a loaded host). */
async function waitForSocket(sock: string, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (existsSync(sock) && (await accepting(sock))) return;
    if (exited()) throw new Error("Firecracker exited before its API socket appeared");
    if (performance.now() > deadline) throw new Error(`Firecracker's API socket did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The host's clock in ns since 1970, as Date.now() reads it (performance.timeOrigin + now() is
 * finer but drifts from the wall clock over a long-lived process, as NTP slews it). */
function epochNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

function vmmCommand(sock: string, logPath: string): string[] {
  return ["firecracker", "--api-sock", sock, "--log-path", logPath, "--level", "Warning"];
}

/**
 * Boots `src` to its ready point and snapshots it under `root` (one snapshot per root: others are
 * removed). The console up to the ready line goes to `onConsole`. Throws a UserError when the
 * workload ends, or the kernel stops, before the ready point.
 */
export async function createSnapshot(root: string, src: SnapshotSource, o: { timeoutMs: number; onConsole?: (chunk: string) => void }): Promise<Snapshot & { console: string; bootMs: number; createMs: number }> {
  const key = snapshotKey(src);
  const snap = snapshotAt(root, key);
  mkdirSync(root, { recursive: true });
  // Other snapshots go (one per project); another run's lock stays.
  for (const old of readdirSync(root)) if (!old.startsWith(".")) rmSync(join(root, old), { recursive: true, force: true });
  mkdirSync(snap.dir, { recursive: true });
  // The image the snapshot's block device names: a copy of its own, so rebuilding the project's
  // image never changes what a restored VM reads.
  const drive = src.drive ? join(snap.dir, "rootfs.img") : undefined;
  if (src.drive && drive) copyFileSync(src.drive, drive);
  const work = mkdtempSync(join(tmpdir(), "zigu-snap-"));
  const sock = join(work, "api.sock");
  const logPath = join(work, "firecracker.log");
  writeFileSync(logPath, "");
  const abort = new AbortController();
  let console = "";
  let shown = 0;
  let isReady = false;
  let readyAt = 0;
  let exited = false;
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  const started = performance.now();
  const vmm = run(vmmCommand(sock, logPath), {
    timeoutMs: o.timeoutMs,
    signal: abort.signal,
    // Whole lines go on to onConsole as they come, up to the ready line (not included).
    onStdout: (chunk) => {
      console += chunk;
      if (isReady) return;
      for (let nl = console.indexOf("\n", shown); nl >= 0; nl = console.indexOf("\n", shown)) {
        const line = console.slice(shown, nl + 1);
        if (line.replace("\r", "") === `${readyLine}\n`) {
          isReady = true;
          readyAt = shown;
          onReady();
          return;
        }
        o.onConsole?.(line);
        shown = nl + 1;
      }
    },
  });
  const ended = vmm.then((r) => {
    exited = true;
    return r;
  });
  try {
    await waitForSocket(sock, () => exited, 15_000);
    await api(sock, "PUT", "/boot-source", { kernel_image_path: src.kernel, boot_args: `${src.cmdline} zigu.snapshot=1 zigu.epoch_ns=${epochNs()}` });
    if (drive) await api(sock, "PUT", "/drives/rootfs", { drive_id: "rootfs", path_on_host: drive, is_root_device: false, is_read_only: true });
    await api(sock, "PUT", "/machine-config", { vcpu_count: 1, mem_size_mib: src.memMiB });
    if (src.tap) await api(sock, "PUT", "/network-interfaces/net0", { iface_id: "net0", host_dev_name: src.tap, guest_mac: "52:54:00:12:34:56" });
    await api(sock, "PUT", "/actions", { action_type: "InstanceStart" });
    const first = await Promise.race([ready.then(() => "ready" as const), ended]);
    if (first !== "ready") {
      if (shown < console.length) o.onConsole?.(console.slice(shown));
      const end = guestEnd(first.stdout);
      const why = first.timedOut
        ? `it did not reach its ready point within ${o.timeoutMs / 1000} s`
        : end.kind === "exit"
          ? `the workload ended (status ${end.status}) before its ready point`
          : `Firecracker stopped before the ready point (${readFileSync(logPath, "utf8").trim().split("\n").at(-1) ?? "no log"})`;
      throw new UserError(`snapshot not made: ${why}`, "a snapshot is taken at the workload's ready call (the TypeScript runtime makes it before the program's first line); run without --snapshot to see the whole console");
    }
    const bootMs = performance.now() - started;
    const t = performance.now();
    await api(sock, "PATCH", "/vm", { state: "Paused" });
    await api(sock, "PUT", "/snapshot/create", { snapshot_type: "Full", snapshot_path: snap.state, mem_file_path: snap.memory });
    const createMs = performance.now() - t;
    writeFileSync(join(snap.dir, "snapshot.json"), JSON.stringify({ key, createdAt: new Date().toISOString(), firecracker: firecrackerVersion(), ...src, drive }, null, 2));
    return { ...snap, console: console.slice(0, readyAt), bootMs, createMs };
  } catch (e) {
    rmSync(snap.dir, { recursive: true, force: true });
    throw e;
  } finally {
    abort.abort();
    await ended;
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Starts a VM from `snap`: a new Firecracker process loads it (resumed at once), then the host's
 * clock goes to the guest's serial input, where the restored kernel waits for it. Returns when the
 * VM stops, like a cold boot; `restoreMs` is the time from spawn until the load returned.
 */
export async function restoreSnapshot(snap: Snapshot, o: {
  timeoutMs: number;
  tap?: string;
  onConsole?: (chunk: string) => void;
  onSpawn?: (pid: number) => void;
  signal?: AbortSignal;
  /** What goes to the guest's serial input after the load (tests): by default the epoch line. */
  serialInput?: (epochLine: string) => string;
}): Promise<BootResult & { restoreMs: number; log: string }> {
  const work = mkdtempSync(join(tmpdir(), "zigu-restore-"));
  const sock = join(work, "api.sock");
  const logPath = join(work, "firecracker.log");
  const fifo = join(work, "serial-in");
  writeFileSync(logPath, "");
  execFileSync("mkfifo", ["-m", "600", fifo]);
  // Read-write: opening never blocks, and the FIFO never reads as closed while the VM runs.
  const fd = openSync(fifo, "r+");
  let exited = false;
  try {
    const command = vmmCommand(sock, logPath);
    const started = performance.now();
    const abort = new AbortController();
    o.signal?.addEventListener("abort", () => abort.abort(), { once: true });
    const vmm = run(command, { timeoutMs: o.timeoutMs, stdin: fd, onStdout: o.onConsole, onSpawn: o.onSpawn, signal: abort.signal });
    const ended = vmm.then((r) => {
      exited = true;
      return r;
    });
    let restoreMs = 0;
    try {
      await waitForSocket(sock, () => exited, 15_000);
      await api(sock, "PUT", "/snapshot/load", {
        snapshot_path: snap.state,
        mem_backend: { backend_type: "File", backend_path: snap.memory },
        resume_vm: true,
        ...(o.tap ? { network_overrides: [{ iface_id: "net0", host_dev_name: o.tap }] } : {}),
      });
      restoreMs = performance.now() - started;
      const line = `zigu.epoch_ns=${epochNs()}\n`;
      const input = o.serialInput ? o.serialInput(line) : line;
      if (input) writeSync(fd, input);
    } catch (e) {
      abort.abort(); // a failed load ends Firecracker by itself; anything else is stopped here
      const r = await ended;
      const log = readFileSync(logPath, "utf8").trim();
      throw new UserError(`restoring the snapshot failed: ${(e as Error).message}${r.stderr ? `\n${r.stderr.trim()}` : ""}${log ? `\nFirecracker's log:\n${log}` : ""}`, `remove ${snap.dir} and run again to make the snapshot anew`);
    }
    const r = await ended;
    return { command, console: r.stdout, end: guestEnd(r.stdout), timedOut: r.timedOut, wallMs: r.wallMs, vmm: r, restoreMs, log: readFileSync(logPath, "utf8") };
  } finally {
    closeSync(fd);
    rmSync(work, { recursive: true, force: true });
  }
}
