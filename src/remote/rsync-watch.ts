/**
 * The rsync fallback's watch loop, run detached by `ukernel remote sync-start`: sends the local
 * folder to the remote whenever a file changed (checked by size and mtime in nanoseconds once a
 * second; a recursive fs.watch is not available on Linux in Node 20). Stopped by
 * `ukernel remote sync-stop`.
 *
 * Its first pass runs unconditionally: sync-start's own pass ran before this process started, and
 * an edit made in between (right after sync-start returns) must not wait for a later change.
 */
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRemote } from "./config.ts";
import { excluded, rsyncOnce } from "./sync.ts";

const localDir = process.argv[2]!;
const remote = loadRemote(localDir);
const intervalMs = 1000;

function fingerprint(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (dir === localDir && excluded.includes(name)) continue;
    const p = join(dir, name);
    const s = statSync(p, { throwIfNoEntry: false, bigint: true });
    if (!s) continue;
    if (s.isDirectory()) fingerprint(p, out);
    else out.push(`${p}:${s.size}:${s.mtimeNs}`);
  }
  return out;
}

let last: string | undefined;
for (;;) {
  const now = fingerprint(localDir).join("\n");
  if (now === last) {
    await new Promise((r) => setTimeout(r, intervalMs));
    continue;
  }
  try {
    await rsyncOnce(remote);
    last = now;
    writeFileSync(join(localDir, ".ukernel", "remote", "rsync.last"), new Date().toISOString());
    console.log(`${new Date().toISOString()} synced`);
  } catch (err) {
    console.log(`${new Date().toISOString()} sync failed: ${(err as Error).message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
