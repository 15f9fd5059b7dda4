// A refused capability is never silent: the kernel says which capability, what the policy allows
// and where to change it, once per kind and reason however often the workload tries.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { accelerators, boot, lines } from "./harness.ts";

for (const accel of accelerators()) {
  describe(`capability refusals, QEMU microvm, ${accel.toUpperCase()}`, () => {
    test("the sample without log: its refusal is on the console, with the fix, before its exit status", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.caps=time");
      assert.deepEqual(r.end, { kind: "exit", status: 3 }, r.console);
      assert.match(r.console, /^zigu: capability "log" refused: zigu\.caps= allows time; add "log" to zigu\.caps= \(npm run boot -- --caps\)$/m, r.console);
    });

    test("an empty policy says so", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.caps=");
      assert.deepEqual(r.end, { kind: "exit", status: 3 }, r.console);
      assert.match(r.console, /^zigu: capability "log" refused: zigu\.caps= allows nothing; add "log" to zigu\.caps=/m, r.console);
    });

    test("20,000 refusals of four kinds and reasons print four lines", async () => {
      const r = await boot(accel, "zigu.workload=hostile zigu.caps=log,time zigu.arg=refusal-flood");
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      const notes = lines(r.console).filter((l) => l.includes("refused"));
      assert.deepEqual(notes, [
        'zigu: capability "net" refused: zigu.caps= allows log,time; add "net" to zigu.caps= (npm run boot -- --caps)',
        'zigu: capability "random" refused: zigu.caps= allows log,time; add "random" to zigu.caps= (npm run boot -- --caps)',
        'zigu: timer_create refused: capability "time" is allowed but not active: the workload must cap_acquire it and cap_enter the handle first',
        'zigu: log refused: capability "log" is allowed but not active: the workload must cap_acquire it and cap_enter the handle first',
      ]);
      assert.match(r.console, /^hostile: flood done$/m);
    });
  });
}
