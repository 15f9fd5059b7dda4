// `ukernel remote` against a real sshd (Debian's openssh-server) started here on loopback with a
// temporary host key, client key and remote folder.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { run } from "../../src/proc.ts";
import { repoRoot } from "../../src/zig.ts";

const cli = join(repoRoot, "bin", "ukernel.js");
const sshd = "/usr/sbin/sshd";
const skip = !existsSync(sshd) ? "no sshd (./scripts/setup installs openssh-server)" : process.getuid?.() !== 0 ? "the test sshd runs as root" : false;

const work = mkdtempSync(join(tmpdir(), "zigu-remote-"));
// Every Mutagen this suite starts (sync-stop and sync-status start its daemon too, when mutagen is
// on PATH) lives in this folder and is stopped in after(): the suite leaves no process behind.
process.env.MUTAGEN_DATA_DIRECTORY = join(work, "mutagen-data");
const key = join(work, "id_ed25519");
const wrongKey = join(work, "wrong_ed25519");
let port = 0;
const mutagen = (() => {
  try {
    execFileSync("mutagen", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
let server: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitForPort(p: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = require_net().connect(p, "127.0.0.1", () => {
        c.destroy();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${p}`);
}

function require_net(): typeof import("node:net") {
  return netModule;
}
let netModule: typeof import("node:net");

function dotRemote(dir: string, remoteDir: string, opts: { port?: number; key?: string } = {}): void {
  writeFileSync(
    join(dir, ".remote"),
    [
      `ZIGU_REMOTE=root@127.0.0.1:${opts.port ?? port}`,
      `ZIGU_REMOTE_DIR=${remoteDir}`,
      `ZIGU_SSH_IDENTITY=${opts.key ?? key}`,
      "ZIGU_SSH_OPTIONS=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
      "",
    ].join("\n"),
  );
}

function ukernel(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 15 * 60_000) {
  return run(["node", cli, ...args], { cwd, env, timeoutMs });
}

/** A local copy of this checkout, without build outputs, to sync. */
function localCheckout(): string {
  const dir = join(mkdtempSync(join(work, "local-")), "zigu");
  cpSync(repoRoot, dir, { recursive: true, filter: (src) => !/\/(\.git|\.venv|node_modules|zig-out|\.zig-cache|\.ukernel|dist|\.deps)(\/|$)/.test(src.slice(repoRoot.length)) });
  return dir;
}

async function remoteCat(path: string): Promise<string | undefined> {
  const r = await run(["ssh", "-p", String(port), "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@127.0.0.1", "--", `cat ${path}`], { timeoutMs: 30_000 });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** Polls until `check` holds: the sync is observed, never waited out blindly. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("ukernel remote against a loopback sshd", { skip }, () => {
  before(async () => {
    netModule = await import("node:net");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", wrongKey]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "host_key")]);
    writeFileSync(join(work, "authorized_keys"), readFileSync(`${key}.pub`));
    port = await freePort();
    const config = join(work, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(work, "host_key")}`,
        `AuthorizedKeysFile ${join(work, "authorized_keys")}`,
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "Subsystem sftp /usr/lib/openssh/sftp-server", // scp (SFTP protocol) copies Mutagen's agent
        `PidFile ${join(work, "sshd.pid")}`,
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true });
    server = spawn(sshd, ["-D", "-f", config, "-E", join(work, "sshd.log")], { stdio: "ignore" });
    await waitForPort(port);
  });

  after(async () => {
    server?.kill("SIGTERM");
    if (mutagen) await run(["mutagen", "daemon", "stop"], { timeoutMs: 30_000 });
  });

  test("errors: no .remote, a malformed one, unreachable host, refused key, missing remote folder", async () => {
    const dir = mkdtempSync(join(work, "errors-"));
    let r = await ukernel(["remote", "exec", "true"], dir);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^error: no \.remote file in .*\nhint: create it with two lines: ZIGU_REMOTE=user@host and ZIGU_REMOTE_DIR=/m);

    writeFileSync(join(dir, ".remote"), "ZIGU_REMOTE=root@127.0.0.1\nZIGU_REMOTE_DIR=relative/path\n");
    r = await ukernel(["remote", "exec", "true"], dir);
    assert.match(r.stderr, /^error: \.remote:2: ZIGU_REMOTE_DIR: expected an absolute path, found "relative\/path"$/m);
    writeFileSync(join(dir, ".remote"), "ZIGU_REMOTE root@host\n");
    r = await ukernel(["remote", "exec", "true"], dir);
    assert.match(r.stderr, /^error: \.remote:1: expected KEY=VALUE/m);
    writeFileSync(join(dir, ".remote"), "ZIGU_REMOTE=root@h\nZIGU_REMOTE_DIR=/x\nZIGU_COLOR=1\n");
    r = await ukernel(["remote", "exec", "true"], dir);
    assert.match(r.stderr, /^error: \.remote:3: unknown key ZIGU_COLOR\nhint: known keys: ZIGU_REMOTE, /m);

    dotRemote(dir, join(work, "nowhere"), { port: await freePort() });
    r = await ukernel(["remote", "exec", "true"], dir);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^error: cannot reach root@127\.0\.0\.1:\d+: .*Connection refused\nhint: check ZIGU_REMOTE/m);

    dotRemote(dir, join(work, "nowhere"), { key: wrongKey });
    r = await ukernel(["remote", "exec", "true"], dir);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^error: ssh to root@127\.0\.0\.1:\d+: authentication refused\nhint: add your public key/m);

    dotRemote(dir, join(work, "nowhere"));
    r = await ukernel(["remote", "exec", "true"], dir);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^error: the remote folder .*nowhere is missing on root@127\.0\.0\.1\nhint: run `ukernel remote setup`/m);

    r = await ukernel(["remote", "sync-stop"], dir);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /sync not running/);
  });

  test("setup, then build, exec, ukernel and logs in the remote folder, with their exit statuses", async () => {
    const local = localCheckout();
    const remoteDir = join(work, "remote-checkout");
    dotRemote(local, remoteDir);
    const setup = await ukernel(["remote", "setup"], local);
    assert.equal(setup.exitCode, 0, setup.stderr);
    assert.match(setup.stdout, /^kvm: (usable|.*)$/m);
    assert.ok(existsSync(join(remoteDir, "build.zig")), "the checkout was synced");
    assert.ok(existsSync(join(remoteDir, ".venv", "bin", "python")), "scripts/setup ran on the remote");
    assert.equal((await ukernel(["remote", "setup", "--no-toolchain"], local)).exitCode, 0, "setup is idempotent");

    const build = await ukernel(["remote", "build"], local);
    assert.equal(build.exitCode, 0, build.stderr);
    assert.ok(existsSync(join(remoteDir, "zig-out", "bin", "zigu.elf")));
    assert.equal((await ukernel(["remote", "exec", "sh", "-c", "exit 7"], local)).exitCode, 7);
    const pwd = await ukernel(["remote", "exec", "pwd"], local);
    assert.equal(pwd.stdout.trim(), remoteDir);
    const help = await ukernel(["remote", "ukernel", "--help"], local);
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, /Usage: ukernel/);
    const noRuns = await ukernel(["remote", "logs"], local);
    assert.equal(noRuns.exitCode, 2, "logs outside a project is the remote CLI's own usage error");
    assert.match(noRuns.stderr, /no ukernel\.toml/);
  });

  test("sync: local changes reach the remote; the rsync fallback is one way by design", async () => {
    const local = mkdtempSync(join(work, "sync-local-"));
    const remoteDir = join(work, "sync-remote");
    dotRemote(local, remoteDir);
    writeFileSync(join(local, "a.txt"), "one\n");
    mkdirSync(join(local, ".ukernel"), { recursive: true });
    writeFileSync(join(local, ".ukernel", "private"), "never synced\n");
    const env = { ...process.env, PATH: process.env.PATH!.split(":").filter((p) => !existsSync(join(p, "mutagen"))).join(":") };
    assert.equal((await ukernel(["remote", "setup", "--no-toolchain"], local, env)).exitCode, 0);
    const start = await ukernel(["remote", "sync-start"], local, env);
    assert.equal(start.exitCode, 0, start.stderr);
    assert.match(start.stderr, /rsync watch loop/);
    try {
      // Edited at once after sync-start returns (before the watch loop has looked), to the same
      // size, within the same second as sync-start's own pass: both used to be lost.
      writeFileSync(join(local, "a.txt"), "two\n");
      await eventually("the change to reach the remote", async () => (await remoteCat(join(remoteDir, "a.txt"))) === "two\n");
      writeFileSync(join(local, "a.txt"), "six\n");
      writeFileSync(join(local, "a.txt"), "ten\n");
      await eventually("a same-size edit to reach the remote", async () => (await remoteCat(join(remoteDir, "a.txt"))) === "ten\n");
      assert.equal(await remoteCat(join(remoteDir, ".ukernel", "private")), undefined, ".ukernel/ is not synced");
      const status = await ukernel(["remote", "sync-status"], local, env);
      assert.equal(status.exitCode, 0);
      assert.match(status.stdout, /rsync watch loop running/);
      // A file made on the remote stays there: one way. Proven after a later sync pass.
      writeFileSync(join(remoteDir, "made-remotely.txt"), "remote\n");
      writeFileSync(join(local, "b.txt"), "marker\n");
      await eventually("the marker to reach the remote", async () => (await remoteCat(join(remoteDir, "b.txt"))) === "marker\n");
      assert.ok(!existsSync(join(local, "made-remotely.txt")));
    } finally {
      const stop = await ukernel(["remote", "sync-stop"], local, env);
      assert.equal(stop.exitCode, 0, stop.stderr);
    }
    const after = await ukernel(["remote", "sync-status"], local, env);
    assert.equal(after.exitCode, 1);
    assert.match(after.stdout, /sync not running/);
  });

  test("sync with Mutagen is two-way", { skip: !mutagen && "no mutagen binary on PATH" }, async () => {
    const local = mkdtempSync(join(work, "mutagen-local-"));
    const remoteDir = join(work, "mutagen-remote");
    dotRemote(local, remoteDir);
    const env = process.env;
    writeFileSync(join(local, "up.txt"), "from local\n");
    assert.equal((await ukernel(["remote", "setup", "--no-toolchain"], local, env)).exitCode, 0);
    const start = await ukernel(["remote", "sync-start"], local, env);
    assert.equal(start.exitCode, 0, start.stderr + start.stdout);
    try {
      await eventually("local -> remote", async () => (await remoteCat(join(remoteDir, "up.txt"))) === "from local\n");
      writeFileSync(join(remoteDir, "down.txt"), "from remote\n");
      await eventually("remote -> local", () => existsSync(join(local, "down.txt")) && readFileSync(join(local, "down.txt"), "utf8") === "from remote\n", 60_000);
      const status = await ukernel(["remote", "sync-status"], local, env);
      assert.equal(status.exitCode, 0);
    } finally {
      await ukernel(["remote", "sync-stop"], local, env);
    }
  });
});
