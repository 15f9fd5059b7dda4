/**
 * The one way Zigu starts a subprocess (qemu, firecracker, zig): records the exact command line,
 * optionally streams output, applies a timeout and kills the whole process group when it expires
 * or when this process exits, so no VM outlives its test.
 */
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process group after this many milliseconds. */
  timeoutMs: number;
  /** Called with each chunk of stdout as it arrives. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Resolve early, and kill the process, once this returns true for the stdout seen so far. */
  stopWhen?: (stdout: string) => boolean;
  /** Kills the process group when aborted. */
  signal?: AbortSignal;
  /** A file descriptor for the child's stdin (default: none, /dev/null). */
  stdin?: number;
  /** Called with the child's pid once it is started. */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  command: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Wall time from spawn to exit, in milliseconds. */
  wallMs: number;
}

const live = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Kills every process group still running (Ctrl-C: stop the VM, keep what it printed). */
let clockTicks: number | undefined;

/** CPU seconds a process has used (utime + stime from /proc/<pid>/stat, all its threads). */
export function cpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // fields 14 and 15 of the line
}

export function killAll(): void {
  for (const pid of live) killGroup(pid);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of live) killGroup(pid);
  });
}

export function quoteCommand(command: readonly string[]): string {
  return command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(" ");
}

export function run(command: readonly string[], opts: RunOptions): Promise<RunResult> {
  installExitHook();
  const [file, ...args] = command;
  if (file === undefined) throw new Error("run: empty command");
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true, // own process group: a timeout kills the VMM and anything it started
      stdio: [opts.stdin ?? "ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const pid = child.pid;
    if (pid !== undefined) {
      live.add(pid);
      opts.onSpawn?.(pid);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, opts.timeoutMs);
    const onAbort = () => {
      if (pid !== undefined) killGroup(pid);
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      opts.onStdout?.(chunk);
      if (opts.stopWhen?.(stdout) && pid !== undefined) killGroup(pid);
    });
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      opts.onStderr?.(chunk);
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      if (pid !== undefined) live.delete(pid);
      reject(err);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (pid !== undefined) live.delete(pid);
      resolve({
        command: [...command],
        exitCode,
        signal,
        stdout,
        stderr,
        timedOut,
        wallMs: performance.now() - started,
      });
    });
  });
}
