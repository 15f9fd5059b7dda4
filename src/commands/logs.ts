/** `ukernel logs [run] [--follow]` and `ukernel runs`: the stored runs of a project. */
import { existsSync, readFileSync, statSync, openSync, readSync, closeSync } from "node:fs";
import { join } from "node:path";
import { listRuns, runsDir } from "../runs.ts";
import { UserError } from "../errors.ts";

export function resolveRun(projectDir: string, id: string | undefined): string {
  const runs = listRuns(projectDir);
  if (runs.length === 0) throw new UserError("no runs yet", "run `ukernel run` first");
  if (id === undefined) return runs.at(-1)!.id;
  const matches = runs.filter((r) => r.id === id || r.id.startsWith(id));
  if (matches.length === 1) return matches[0]!.id;
  throw new UserError(matches.length ? `run "${id}" is ambiguous` : `no run "${id}"`, "`ukernel runs` lists them");
}

/** Prints a run's console; with follow, keeps printing until the run has a result. */
export async function logs(projectDir: string, id: string | undefined, follow: boolean, write: (s: string) => void): Promise<void> {
  const dir = join(runsDir(projectDir), resolveRun(projectDir, id));
  const consolePath = join(dir, "console.log");
  if (!follow) {
    write(readFileSync(consolePath, "utf8"));
    return;
  }
  let offset = 0;
  const pollMs = 100;
  for (;;) {
    const size = statSync(consolePath).size;
    if (size > offset) {
      const fd = openSync(consolePath, "r");
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      offset = size;
      write(buf.toString("utf8"));
    }
    if (existsSync(join(dir, "result.json")) && statSync(consolePath).size === offset) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
