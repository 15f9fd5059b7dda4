/**
 * `ukernel remote …`: develop on any machine against a Linux host with KVM, over ssh. The local
 * folder holding `.remote` (a Zigu checkout or a ukernel project) is mirrored at ZIGU_REMOTE_DIR.
 */
import { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadRemote, target, type Remote } from "../remote/config.ts";
import { remoteExec, remoteShell, quoteSh } from "../remote/ssh.ts";
import { rsyncOnce, syncStart, syncStatus, syncStop } from "../remote/sync.ts";
import { UserError } from "../errors.ts";

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);
const note = (s: string): void => void process.stderr.write(`[remote] ${s}\n`);

/** Runs a command line in the remote folder, with a TTY when this terminal has one. */
async function exec(r: Remote, line: string): Promise<number> {
  if (process.stdin.isTTY && process.stdout.isTTY) return remoteShell(r, line);
  const result = await remoteExec(r, line, { onStdout: out, onStderr: err });
  return result.exitCode ?? 1;
}

/** What `setup` runs on the remote, idempotently. */
export function setupScript(r: Remote, tap: boolean): string {
  return [
    "set -e",
    `mkdir -p ${quoteSh(r.dir)}`,
    // rsync must be there for the first sync; everything else comes from the project's own setup.
    "if ! command -v rsync >/dev/null; then",
    "  if [ \"$(id -u)\" -eq 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsync >/dev/null;",
    "  else sudo -n apt-get install -y -qq --no-install-recommends rsync >/dev/null || { echo 'setup: rsync is missing and sudo needs a password: sudo apt-get install rsync' >&2; exit 3; }; fi",
    "fi",
    ...(tap
      ? [
          "if ! ip link show zigu-tap0 >/dev/null 2>&1; then",
          "  ip tuntap add dev zigu-tap0 mode tap && ip addr add 172.31.0.1/30 dev zigu-tap0 && ip link set zigu-tap0 up || { echo 'setup: creating the TAP device zigu-tap0 needs root (CAP_NET_ADMIN)' >&2; exit 4; }",
          "fi",
        ]
      : []),
  ].join("\n");
}

const checkKvm = `if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo "kvm: usable"; elif [ -c /dev/kvm ]; then echo "kvm: /dev/kvm exists but $(id -un) cannot open it: sudo usermod -aG kvm $(id -un), then log in again"; else echo "kvm: no /dev/kvm: enable virtualization (nested, on a cloud VM) or microVMs fall back to TCG"; fi; if command -v firecracker >/dev/null; then echo "firecracker: $(firecracker --version | head -n1)"; else echo "firecracker: not on PATH (no registry ships it: build it with cargo from its public source)"; fi`;

export function remoteCommand(dirOpt: () => string): Command {
  const remote = new Command("remote").description("work against a Linux host with KVM over ssh (configured by .remote)");
  const load = () => loadRemote(dirOpt());
  const exitWith = (code: number) => {
    process.exitCode = code;
  };

  remote
    .command("setup")
    .description("idempotent: create the remote folder, sync, install the toolchains there (scripts/setup), check KVM")
    .option("--tap", "also create the TAP device zigu-tap0 for microVM networking", false)
    .option("--no-toolchain", "skip running scripts/setup on the remote")
    .action(async (o: { tap: boolean; toolchain: boolean }) => {
      const r = load();
      note(`preparing ${target(r)}:${r.dir}`);
      const prep = await remoteExec(r, setupScript(r, o.tap), { needDir: false, onStderr: err });
      if (prep.exitCode !== 0) return exitWith(prep.exitCode ?? 1);
      await rsyncOnce(r);
      note("synced");
      if (o.toolchain && existsSync(join(r.localDir, "scripts", "setup"))) {
        const s = await remoteExec(r, "./scripts/setup", { onStdout: out, onStderr: err });
        if (s.exitCode !== 0) return exitWith(s.exitCode ?? 1);
      }
      await remoteExec(r, checkKvm, { onStdout: out });
    });

  remote.command("sync-start").description("start continuous sync (Mutagen when installed, else rsync watch loop)").action(async () => note(await syncStart(load())));
  remote.command("sync-status").description("is the sync running, and how").action(async () => {
    const s = await syncStatus(load());
    out(`${s.text}\n`);
    if (!s.running) exitWith(1);
  });
  remote.command("sync-stop").description("stop the sync").action(async () => note(await syncStop(load())));
  remote.command("shell").description("an interactive shell in the remote folder").action(async () => exitWith(await remoteShell(load())));

  const passthrough = (name: string, description: string, line: (args: string[]) => string) =>
    remote
      .command(name)
      .description(description)
      .argument("[args...]", "passed on")
      .allowUnknownOption()
      .helpOption("--remote-help", "help for this command")
      .action(async (args: string[]) => exitWith(await exec(load(), line(args))));

  const q = (args: string[]) => args.map(quoteSh).join(" ");
  // scripts/setup may have put Node.js (from PyPI) in .venv/bin on a remote without one.
  const env = 'export PATH="$PWD/.venv/bin:$PATH";';
  passthrough("build", "zig build in the remote folder", (a) => `${env} ./scripts/setup >/dev/null && .venv/bin/python -m ziglang build ${q(a)}`);
  passthrough("test", "every test, remotely", (a) => `${env} ./scripts/setup && npm test ${q(a)}`);
  passthrough("run", "boot the sample remotely (npm run boot)", (a) => `${env} ./scripts/setup >/dev/null && npm run --silent boot -- ${q(a)}`);
  passthrough("logs", "ukernel logs, remotely", (a) => `${env} node bin/ukernel.js logs ${q(a)}`);
  passthrough("ukernel", "any ukernel command, remotely", (a) => `${env} node bin/ukernel.js ${q(a)}`);
  passthrough("exec", "any command line, in the remote folder", (a) => {
    if (a.length === 0) throw new UserError("exec: no command given", "ukernel remote exec -- <command> [args…]");
    return q(a);
  });
  return remote;
}
