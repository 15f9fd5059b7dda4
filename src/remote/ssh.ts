/** ssh to the remote, with the failures a user hits turned into one clear line and its fix. */
import { spawn } from "node:child_process";
import { run, type RunResult } from "../proc.ts";
import { UserError } from "../errors.ts";
import { target, type Remote } from "./config.ts";

/** ssh options shared by ssh, rsync (-e) and mutagen. */
export function sshArgs(r: Remote): string[] {
  return [
    "-o", "BatchMode=yes", // never prompt: a missing key is an error, not a hang
    "-o", "ConnectTimeout=10",
    ...(r.port ? ["-p", String(r.port)] : []),
    ...(r.identity ? ["-i", r.identity, "-o", "IdentitiesOnly=yes"] : []),
    ...r.sshOptions,
  ];
}

export function quoteSh(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** Turns ssh's own failures (exit 255) into a UserError; the remote command's failures pass. */
export function checkSsh(r: Remote, result: { exitCode: number | null; stderr: string }): void {
  if (result.exitCode !== 255) return;
  const e = result.stderr;
  const where = `${target(r)}${r.port ? `:${r.port}` : ""}`;
  if (/Permission denied|Too many authentication failures|no mutual signature/i.test(e)) {
    throw new UserError(`ssh to ${where}: authentication refused`, `add your public key to the remote's ~/.ssh/authorized_keys (ssh-copy-id ${target(r)}), or point ZIGU_SSH_IDENTITY at the right key`);
  }
  if (/Connection refused|Connection timed out|No route to host|Could not resolve|Name or service not known|Network is unreachable|Connection closed/i.test(e)) {
    throw new UserError(`cannot reach ${where}: ${e.trim().split("\n").at(-1)}`, "check ZIGU_REMOTE in .remote, that the host is up, and that sshd listens on that port");
  }
  throw new UserError(`ssh to ${where} failed: ${e.trim().split("\n").at(-1)}`);
}

/** Runs `command` (a shell line) in the remote folder; the folder must exist. */
export async function remoteExec(r: Remote, command: string, opts: { timeoutMs?: number; onStdout?: (s: string) => void; onStderr?: (s: string) => void; needDir?: boolean } = {}): Promise<RunResult> {
  const missingDirStatus = 97;
  const line = opts.needDir === false ? command : `cd ${quoteSh(r.dir)} 2>/dev/null || exit ${missingDirStatus}; ${command}`;
  const result = await run(["ssh", ...sshArgs(r), target(r), "--", line], { timeoutMs: opts.timeoutMs ?? 60 * 60_000, onStdout: opts.onStdout, onStderr: opts.onStderr });
  checkSsh(r, result);
  if (opts.needDir !== false && result.exitCode === missingDirStatus && result.stdout === "" && result.stderr === "") {
    throw new UserError(`the remote folder ${r.dir} is missing on ${target(r)}`, "run `ukernel remote setup` to create and fill it");
  }
  return result;
}

/** An interactive session (TTY) in the remote folder; resolves with ssh's exit status. */
export function remoteShell(r: Remote, command?: string): Promise<number> {
  const line = `cd ${quoteSh(r.dir)} || exit 1; ${command ?? 'exec "${SHELL:-/bin/sh}" -l'}`;
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", ["-t", ...sshArgs(r), target(r), "--", line], { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}
