// The kernel's pure core (boot info, command line, ELF validation, page allocator, heap) runs as
// Zig unit tests on the host: `zig build test`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { run } from "../../src/proc.ts";
import { repoRoot, zigCommand } from "../../src/zig.ts";

test("kernel unit tests pass on the host (zig build test)", async () => {
  const r = await run([...zigCommand(), "build", "test", "--summary", "all"], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
  assert.equal(r.timedOut, false, "zig build test timed out");
  assert.equal(r.exitCode, 0, `zig build test failed:\n${r.stderr}`);
});
