// The ABI's numbers have one source (abi/spec.ts); every language's copy is generated from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { stale, outputs } from "../../abi/generate.ts";
import { calls, capabilities, errors } from "../../abi/spec.ts";

test("generated ABI files match abi/spec.ts (run npm run gen:abi after changing it)", () => {
  assert.deepEqual(stale(), []);
});

test("the spec has no duplicate numbers or names", () => {
  for (const [what, list] of [["call", calls.map((c) => ({ name: c.name, value: c.nr }))], ["error", errors], ["capability", capabilities]] as const) {
    assert.equal(new Set(list.map((x) => x.value)).size, list.length, `duplicate ${what} number`);
    assert.equal(new Set(list.map((x) => x.name)).size, list.length, `duplicate ${what} name`);
  }
  for (const c of calls) if (c.cap) assert.ok(capabilities.some((k) => k.name === c.cap), `${c.name}: unknown ${c.cap}`);
  assert.ok(Object.keys(outputs).length >= 4);
});
