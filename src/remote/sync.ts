/**
 * Keeping the remote folder in step with the local one.
 *  - Mutagen, when a `mutagen` binary is on PATH: a two-way sync session (conflicts resolved in
 *    favour of the local side), with build outputs and .ukernel/ ignored on both sides.
 *  - Otherwise rsync over ssh from a watch loop (src/remote/rsync-watch.ts, detached): local to
 *    remote only, every change within about a second; nothing comes back except through
 *    `ukernel remote exec`. Build outputs and .ukernel/ are not sent.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, openSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { run } from "../proc.ts";
import { repoRoot } from "../zig.ts";
import { UserError } from "../errors.ts";
import { target, type Remote } from "./config.ts";
import { sshArgs, quoteSh, checkSsh } from "./ssh.ts";

/** Never synced upstream: build outputs, toolchains, run records. */
export const excluded = [".git", ".venv", "node_modules", "zig-out", ".zig-cache", "zig-cache", ".ukernel", "dist", ".deps"];

export type SyncMode = "mutagen" | "rsync";

export function syncMode(): SyncMode {
  try {
    execFileSync("mutagen", ["version"], { stdio: "ignore" });
    return "mutagen";
  } catch {
    return "rsync";
  }
}

function stateDir(r: Remote): string {
  const d = join(r.localDir, ".ukernel", "remote");
  mkdirSync(d, { recursive: true });
  return d;
}

function sessionName(r: Remote): string {
  return `zigu-${createHash("sha256").update(`${r.localDir}|${target(r)}|${r.dir}`).digest("hex").slice(0, 12)}`;
}

/** One rsync pass, local to remote. */
export async function rsyncOnce(r: Remote): Promise<void> {
  const ssh = ["ssh", ...sshArgs(r)].map(quoteSh).join(" ");
  const result = await run(
    // --modify-window=-1: compare mtimes to the nanosecond; rsync's quick check otherwise skips a
    // same-size edit made within the same second as the last pass.
    ["rsync", "-az", "--delete", "--modify-window=-1", ...excluded.flatMap((e) => ["--exclude", `/${e}`]), "-e", ssh, `${r.localDir}/`, `${target(r)}:${r.dir}/`],
    { timeoutMs: 10 * 60_000 },
  );
  if (result.exitCode === 255 || /connection|Permission denied/i.test(result.stderr)) checkSsh(r, { exitCode: 255, stderr: result.stderr });
  if (result.exitCode !== 0) throw new UserError(`rsync to ${target(r)}:${r.dir} failed: ${result.stderr.trim().split("\n").at(-1)}`, "is rsync installed on the remote? `ukernel remote setup` installs it");
}

/** Wrappers so that Mutagen's ssh and scp use the same options as ours. */
function mutagenSshPath(r: Remote): string {
  const dir = join(stateDir(r), "ssh-bin");
  mkdirSync(dir, { recursive: true });
  const args = sshArgs(r).map(quoteSh).join(" ");
  for (const tool of ["ssh", "scp"]) {
    const p = join(dir, tool);
    const extra = tool === "scp" ? args.replace(/-p (\d+)/, "-P $1") : args;
    writeFileSync(p, `#!/bin/sh\nexec /usr/bin/${tool} ${extra} "$@"\n`);
    chmodSync(p, 0o755);
  }
  return dir;
}

export async function syncStart(r: Remote): Promise<string> {
  const mode = syncMode();
  if (mode === "mutagen") {
    const env = { ...process.env, MUTAGEN_SSH_PATH: mutagenSshPath(r) };
    const url = `${target(r)}:${r.port ?? 22}:${r.dir}`;
    const name = sessionName(r);
    await run(["mutagen", "sync", "terminate", name], { env, timeoutMs: 60_000 });
    const c = await run(
      ["mutagen", "sync", "create", `--name=${name}`, "--sync-mode=two-way-resolved", ...excluded.map((e) => `--ignore=/${e}`), r.localDir, url],
      { env, timeoutMs: 5 * 60_000 },
    );
    if (c.exitCode !== 0) throw new UserError(`mutagen could not start the sync: ${c.stderr.trim().split("\n").at(-1)}`, "check that `ukernel remote exec true` works");
    await run(["mutagen", "sync", "flush", name], { env, timeoutMs: 5 * 60_000 });
    return `mutagen session ${name}: two-way, ${r.localDir} <-> ${url}`;
  }
  const pidFile = join(stateDir(r), "rsync.pid");
  if (rsyncWatcherPid(r) !== undefined) return "rsync watch loop already running";
  await rsyncOnce(r); // fail here, in the foreground, if ssh or rsync does not work
  const log = openSync(join(stateDir(r), "rsync.log"), "a");
  const watcher = join(repoRoot, "src", "remote", "rsync-watch.ts"); // not import.meta: the CLI may run bundled
  // cwd: the Zigu checkout, where `--import tsx` resolves (the project folder may have no node_modules).
  const child = spawn(process.execPath, ["--import", "tsx", watcher, r.localDir], { detached: true, stdio: ["ignore", log, log], cwd: repoRoot });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  return `rsync watch loop (pid ${child.pid}): ${r.localDir} -> ${target(r)}:${r.dir}, one way`;
}

export function rsyncWatcherPid(r: Remote): number | undefined {
  const pidFile = join(stateDir(r), "rsync.pid");
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8"));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    rmSync(pidFile, { force: true });
    return undefined;
  }
}

export async function syncStatus(r: Remote): Promise<{ running: boolean; text: string }> {
  if (syncMode() === "mutagen") {
    const s = await run(["mutagen", "sync", "list", sessionName(r)], { env: { ...process.env, MUTAGEN_SSH_PATH: mutagenSshPath(r) }, timeoutMs: 60_000 });
    return s.exitCode === 0 ? { running: true, text: s.stdout.trim() } : { running: false, text: "sync not running (mutagen): `ukernel remote sync-start`" };
  }
  const pid = rsyncWatcherPid(r);
  if (pid === undefined) return { running: false, text: "sync not running (rsync): `ukernel remote sync-start`" };
  const last = join(stateDir(r), "rsync.last");
  const when = existsSync(last) ? readFileSync(last, "utf8").trim() : "never";
  return { running: true, text: `rsync watch loop running (pid ${pid}), last sync ${when}` };
}

export async function syncStop(r: Remote): Promise<string> {
  if (syncMode() === "mutagen") {
    const t = await run(["mutagen", "sync", "terminate", sessionName(r)], { env: { ...process.env, MUTAGEN_SSH_PATH: mutagenSshPath(r) }, timeoutMs: 60_000 });
    if (t.exitCode !== 0) throw new UserError("sync not running (mutagen)", "`ukernel remote sync-start` starts it");
    return "mutagen session terminated";
  }
  const pid = rsyncWatcherPid(r);
  if (pid === undefined) throw new UserError("sync not running (rsync)", "`ukernel remote sync-start` starts it");
  process.kill(-pid, "SIGTERM");
  rmSync(join(stateDir(r), "rsync.pid"), { force: true });
  return `rsync watch loop (pid ${pid}) stopped`;
}
