// The guest's network library (runtime/net, Rust over smoltcp): its host tests (two stacks over an
// in-memory wire: echo, backlog, UDP, policy, bad handles, an 8 MiB transfer over a lossy and
// reordering wire, 20,000 hostile frames, the net_info parser, the handle table, the allocator, the
// ABI numbers against include/ukernel_abi.h), and the staticlib the guest links, built for
// x86_64-unknown-none with the exports the ABI names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { repoRoot } from "../../src/zig.ts";
import { run } from "../../src/proc.ts";

const manifest = join(repoRoot, "runtime", "net", "Cargo.toml");
const env = {
  ...process.env,
  CARGO_TARGET_DIR: join(repoRoot, ".deps", "net-target"),
  CARGO_HOME: join(repoRoot, ".deps", "cargo"),
};

function cargoMissing(): string | false {
  try {
    execFileSync("cargo", ["--version"], { stdio: "ignore" });
    return false;
  } catch {
    return "cargo is not installed (Rust 1.95 is on these machines; elsewhere: https://rustup.rs)";
  }
}

function targetMissing(): string | false {
  if (cargoMissing()) return cargoMissing();
  const sysroot = execFileSync("rustc", ["--print", "sysroot"], { encoding: "utf8" }).trim();
  return existsSync(join(sysroot, "lib", "rustlib", "x86_64-unknown-none"))
    ? false
    : "the Rust target x86_64-unknown-none is not installed (rustup target add x86_64-unknown-none)";
}

/** The last lines of cargo's output, for an assertion message. */
function tail(s: string): string {
  return s.split("\n").slice(-60).join("\n");
}

test("runtime/net: cargo test (host)", { skip: cargoMissing(), timeout: 240_000 }, async () => {
  const r = await run(["cargo", "test", "--locked", "--release", "--manifest-path", manifest], { env, timeoutMs: 230_000 });
  assert.equal(r.timedOut, false, "cargo test timed out");
  assert.equal(r.exitCode, 0, tail(r.stdout + r.stderr));
  // Every test binary ran and none failed (a filter or a skipped binary would show up here).
  const results = [...r.stdout.matchAll(/test result: ok\. (\d+) passed; (\d+) failed; (\d+) ignored/g)];
  const passed = results.reduce((n, m) => n + Number(m[1]), 0);
  assert.ok(passed >= 20, `only ${passed} tests passed:\n${tail(r.stdout)}`);
  for (const name of ["eight_mib_over_a_lossy_reordering_wire_arrive_intact", "twenty_thousand_hostile_frames", "numbers_match_the_header"]) {
    assert.match(r.stdout, new RegExp(`test ${name} \\.\\.\\. ok`), `${name} did not pass`);
  }
});

test("runtime/net: the staticlib builds for x86_64-unknown-none", { skip: targetMissing(), timeout: 240_000 }, async () => {
  const r = await run(
    ["cargo", "build", "--release", "--locked", "--target", "x86_64-unknown-none", "--manifest-path", manifest],
    { env, timeoutMs: 230_000 },
  );
  assert.equal(r.exitCode, 0, tail(r.stderr));
  const archive = join(env.CARGO_TARGET_DIR, "x86_64-unknown-none", "release", "libzigu_net.a");
  const bytes = readFileSync(archive);
  assert.equal(bytes.subarray(0, 8).toString("latin1"), "!<arch>\n");
  // The archive's symbol index names every call the library exports and the kernel calls it needs.
  const text = bytes.toString("latin1");
  for (const sym of [
    "uk_tcp_listen", "uk_tcp_accept", "uk_tcp_connect", "uk_sock_send", "uk_sock_recv", "uk_sock_shutdown",
    "uk_udp_bind", "uk_udp_send_to", "uk_udp_recv_from", "zigu_net_handle_close", "zigu_net_io_register",
    "zigu_net_io_unregister", "zigu_net_io_poll", "zigu_net_stats", "uk_sys_net_recv", "uk_sys_mem_map",
  ]) {
    assert.ok(text.includes(`${sym}\0`), `${sym} is not in ${archive}`);
  }
});
