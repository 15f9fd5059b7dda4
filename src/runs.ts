/** The run store: every `ukernel run` keeps its console, VMM command and result under .ukernel/runs/<id>/. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface RunResult {
  id: string;
  workload: string;
  vmm: string;
  accel: string;
  startedAt: string;
  wallMs: number;
  /** The workload's exit status, or null when the guest gave none. */
  status: number | null;
  outcome: "exited" | "timeout" | "interrupted" | "no-exit-line";
  /** What the ukernel process exits with. */
  exitCode: number;
  /** A snapshot start (`run --snapshot`): the snapshot, whether this run made it, and the ms from
   * Firecracker's start until the restore returned. */
  snapshot?: { key: string; made: boolean; restoreMs: number };
  /** The kernel's network counters, when the VM had a network device. */
  network?: { framesOut: number; framesIn: number; droppedOut: number; droppedIn: number; kernelEntries: number };
}

export function runsDir(projectDir: string): string {
  return join(projectDir, ".ukernel", "runs");
}

export function newRun(projectDir: string): { id: string; dir: string } {
  // Milliseconds in the stamp: ids sort by start time, also for two runs in the same second
  // (`logs` and `runs` take the latest by that order; the suffix only keeps ids apart).
  const stamp = new Date().toISOString().replace(/[-:.]/g, "").replace("T", "-").slice(0, 18);
  const id = `${stamp}-${randomBytes(2).toString("hex")}`;
  const dir = join(runsDir(projectDir), id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "console.log"), "");
  return { id, dir };
}

export function appendConsole(dir: string, chunk: string): void {
  appendFileSync(join(dir, "console.log"), chunk);
}

export function listRuns(projectDir: string): (RunResult | { id: string; outcome: "running" })[] {
  const dir = runsDir(projectDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((id) => {
      const result = join(dir, id, "result.json");
      return existsSync(result) ? (JSON.parse(readFileSync(result, "utf8")) as RunResult) : { id, outcome: "running" as const };
    });
}
