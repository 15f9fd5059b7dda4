/**
 * The .remote file: where `ukernel remote` works. KEY=VALUE lines, # comments.
 *   ZIGU_REMOTE=user@host[:port]     required
 *   ZIGU_REMOTE_DIR=/abs/path        required: the project's folder on the remote
 *   ZIGU_SSH_IDENTITY=~/.ssh/id_x    optional: ssh -i
 *   ZIGU_SSH_OPTIONS=-o Key=Value …  optional: extra ssh options
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { homedir } from "node:os";
import { UserError } from "../errors.ts";

export const remoteFile = ".remote";

export interface Remote {
  user: string | undefined;
  host: string;
  port: number | undefined;
  dir: string;
  identity: string | undefined;
  sshOptions: string[];
  /** The local folder that mirrors `dir` (where .remote lives). */
  localDir: string;
}

const keys = ["ZIGU_REMOTE", "ZIGU_REMOTE_DIR", "ZIGU_SSH_IDENTITY", "ZIGU_SSH_OPTIONS"] as const;

export function parseRemote(text: string, localDir: string, file = remoteFile): Remote {
  const values = new Map<string, { value: string; line: number }>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([A-Z_]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new UserError(`${file}:${i + 1}: expected KEY=VALUE, found ${JSON.stringify(line)}`, `write e.g. ZIGU_REMOTE=user@host`);
    const key = m[1]!;
    if (!(keys as readonly string[]).includes(key)) throw new UserError(`${file}:${i + 1}: unknown key ${key}`, `known keys: ${keys.join(", ")}`);
    values.set(key, { value: m[2]!.replace(/^(["'])(.*)\1$/, "$2"), line: i + 1 });
  });
  const target = values.get("ZIGU_REMOTE");
  if (!target) throw new UserError(`${file}: ZIGU_REMOTE is missing`, "add ZIGU_REMOTE=user@host (a Linux machine with KVM you can ssh to)");
  const m = /^(?:([^@\s]+)@)?([^@:\s]+)(?::(\d+))?$/.exec(target.value);
  if (!m) throw new UserError(`${file}:${target.line}: ZIGU_REMOTE: expected user@host or user@host:port, found ${JSON.stringify(target.value)}`);
  const dir = values.get("ZIGU_REMOTE_DIR");
  if (!dir) throw new UserError(`${file}: ZIGU_REMOTE_DIR is missing`, "add ZIGU_REMOTE_DIR=/absolute/path/on/the/remote");
  if (!dir.value.startsWith("/")) throw new UserError(`${file}:${dir.line}: ZIGU_REMOTE_DIR: expected an absolute path, found ${JSON.stringify(dir.value)}`);
  const identity = values.get("ZIGU_SSH_IDENTITY")?.value.replace(/^~(?=\/)/, homedir());
  return {
    user: m[1],
    host: m[2]!,
    port: m[3] ? Number(m[3]) : undefined,
    dir: dir.value.replace(/\/+$/, "") || "/",
    identity,
    sshOptions: (values.get("ZIGU_SSH_OPTIONS")?.value ?? "").split(/\s+/).filter(Boolean),
    localDir,
  };
}

export function loadRemote(dir: string): Remote {
  const localDir = resolve(dir);
  const file = join(localDir, remoteFile);
  if (!existsSync(file)) {
    throw new UserError(`no ${remoteFile} file in ${localDir}`, `create it with two lines: ZIGU_REMOTE=user@host and ZIGU_REMOTE_DIR=/path/on/remote`);
  }
  return parseRemote(readFileSync(file, "utf8"), localDir);
}

export function target(r: Remote): string {
  return r.user ? `${r.user}@${r.host}` : r.host;
}
