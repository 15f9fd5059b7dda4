// `ukernel run --snapshot` with a TypeScript workload (docs/snapshots.md): the first run boots to
// the runtime's ready point (the program loaded, none of it run) and snapshots there; later runs
// restore. Clones restored at once must not share random state (Math.random, crypto), must read
// the host's wall clock and fire timers on time; a changed program makes a new snapshot. Firecracker
// is in no package registry: these tests run when a `firecracker` binary is on PATH.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../../src/proc.ts";
import { jsDepsReady, repoRoot } from "../../src/zig.ts";
import { firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { kvmUsable } from "../../src/vmm/qemu.ts";

const cli = join(repoRoot, "bin", "ukernel.js");

function ukernel(args: string[], cwd: string) {
  return run(["node", cli, ...args], { cwd, timeoutMs: 15 * 60_000 });
}

const program = (tag: string) => `import { restores } from "zigu";
const bytes = new Uint8Array(8);
crypto.getRandomValues(bytes);
const t0 = performance.now();
setTimeout(() => {
  console.log("report " + JSON.stringify({
    tag: ${JSON.stringify(tag)},
    restores: restores(),
    random: [Math.random(), Math.random()],
    bytes: Array.from(bytes).join(","),
    wallMs: Date.now(),
    timerMs: performance.now() - t0,
  }));
}, 50);
`;

interface Report { tag: string; restores: number; random: number[]; bytes: string; wallMs: number; timerMs: number }

function report(stdout: string): Report {
  const line = stdout.split("\n").find((l) => l.startsWith("report "));
  assert.ok(line, `no report line:\n${stdout}`);
  return JSON.parse(line.slice("report ".length)) as Report;
}

const skip = !firecrackerVersion() ? "no firecracker binary on PATH" : !kvmUsable() ? "firecracker needs a usable /dev/kvm" : !jsDepsReady() ? "the runtime's archives are not built (./scripts/setup)" : false;

describe("ukernel run --snapshot (TypeScript, Firecracker)", { skip }, () => {
  test("made on the first run, restored after; clones at once differ in Math.random and crypto, read the host's clock; a changed program makes a new snapshot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ukernel-snap-"));
    const init = await ukernel(["init", "."], dir);
    assert.equal(init.exitCode, 0, init.stderr);
    writeFileSync(join(dir, "src", "main.ts"), program("one"));
    const toml = join(dir, "ukernel.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace(/allow = \[[^\]]*\]/, 'allow = ["log", "time", "random"]'));

    const first = await ukernel(["run", "--snapshot"], dir);
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.match(first.stderr, /snapshot: none for this image yet: booting to the ready point to make one/);
    assert.match(first.stderr, /snapshot \w+: made \(boot to ready \d+ ms, snapshot \d+ ms\); restoring/);
    assert.match(first.stdout, /^zigu \S+: boot \d+ us/m, "the first run shows the boot it snapshotted");
    assert.equal(report(first.stdout).restores, 1, "the first run, too, is a restored clone");

    const before = Date.now();
    const [a, b] = await Promise.all([ukernel(["run", "--snapshot"], dir), ukernel(["run", "--snapshot"], dir)]);
    const after = Date.now();
    for (const r of [a, b]) {
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /snapshot \w+: restoring/);
      assert.match(r.stderr, /snapshot \w+: restored in \d+ ms/);
      assert.doesNotMatch(r.stdout, /^zigu \S+: boot/m, "a restore does not boot");
      const s = report(r.stdout);
      assert.equal(s.tag, "one");
      assert.equal(s.restores, 1);
      assert.ok(s.wallMs >= before && s.wallMs <= after, `Date.now() ${s.wallMs} outside [${before}, ${after}]: the snapshot's clock, not the host's`);
      assert.ok(s.timerMs >= 50 && s.timerMs < 300, `a 50 ms setTimeout fired after ${s.timerMs} ms`);
    }
    // The run record says how each run started.
    const records = readdirSync(join(dir, ".ukernel", "runs")).sort().map((id) => JSON.parse(readFileSync(join(dir, ".ukernel", "runs", id, "result.json"), "utf8")) as { snapshot?: { key: string; made: boolean; restoreMs: number } });
    assert.equal(records.length, 3);
    assert.deepEqual(records.map((r) => r.snapshot?.made), [true, false, false]);
    assert.ok(records.every((r) => r.snapshot && r.snapshot.key === records[0]!.snapshot!.key && r.snapshot.restoreMs > 0));
    const [ra, rb, rf] = [report(a.stdout), report(b.stdout), report(first.stdout)];
    assert.notDeepEqual(ra.random, rb.random, "two clones share Math.random's sequence");
    assert.notDeepEqual(ra.random, rf.random);
    assert.notEqual(ra.bytes, rb.bytes, "two clones drew the same crypto bytes");

    // A changed program, run twice at once: one run builds, packs and makes the new snapshot, the
    // other waits for each (or finds it done), and both restore it.
    writeFileSync(join(dir, "src", "main.ts"), program("two"));
    const changed = await Promise.all([ukernel(["run", "--snapshot"], dir), ukernel(["run", "--snapshot"], dir)]);
    for (const r of changed) {
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.equal(report(r.stdout).tag, "two");
    }
    assert.equal(changed.filter((r) => /snapshot: none for this image yet/.test(r.stderr)).length, 1, changed.map((r) => r.stderr).join("\n---\n"));
    assert.equal(readdirSync(join(dir, ".ukernel", "snapshots")).length, 1, "the old image's snapshot is removed");
  });

  test("--snapshot with --vmm qemu is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ukernel-snap-"));
    assert.equal((await ukernel(["init", "."], dir)).exitCode, 0);
    const r = await ukernel(["run", "--snapshot", "--vmm", "qemu"], dir);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /--snapshot needs Firecracker: QEMU microvm starts cold/);
  });
});
