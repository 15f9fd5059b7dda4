// ukernel.toml's memory keys and the policy file they become: pure functions, no VM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, type Project } from "../../src/config.ts";
import { UserError } from "../../src/errors.ts";
import { policyFile } from "../../src/commands/pack.ts";

const toml = (extra: { workload?: string; vm?: string } = {}) =>
  `[workload]\nname = "app"\nentry = "src/main.ts"\nruntime = "typescript"\n${extra.workload ?? ""}\n[vm]\n${extra.vm ?? ""}\n[capabilities]\nallow = ["log", "time"]\n`;
const project = (text: string): Project => ({ dir: "/nowhere", file: "/nowhere/ukernel.toml", config: parseConfig(text, "ukernel.toml") });

test("workload.memory_limit_mib is optional, and travels in the policy file after the capabilities", () => {
  assert.equal(policyFile(project(toml())), "log,time\n");
  assert.equal(policyFile(project(toml({ workload: "memory_limit_mib = 12" }))), "log,time\nmemory_limit_mib=12\n");
});

test("memory_mib may be as small as 8 MiB", () => {
  assert.equal(project(toml({ vm: "memory_mib = 8" })).config.vm.memory_mib, 8);
  assert.throws(() => parseConfig(toml({ vm: "memory_mib = 7" }), "ukernel.toml"), (e: unknown) => e instanceof UserError && /ukernel\.toml:7: vm\.memory_mib: .*>=8, found number 7/.test(e.message));
});

test("a memory limit that is not a whole number of MiB, or above the guest's memory, names its line and key", () => {
  const bad = (workload: string, vm: string, message: RegExp) =>
    assert.throws(() => parseConfig(toml({ workload, vm }), "ukernel.toml"), (e: unknown) => e instanceof UserError && message.test(e.message));
  bad("memory_limit_mib = 0", "", /^ukernel\.toml:5: workload\.memory_limit_mib: .*>=1, found number 0$/m);
  bad("memory_limit_mib = 1.5", "", /^ukernel\.toml:5: workload\.memory_limit_mib: .*int.*, found number 1\.5$/m);
  bad('memory_limit_mib = "lots"', "", /^ukernel\.toml:5: workload\.memory_limit_mib: expected number, found the string "lots"$/m);
  bad("memory_limit_mib = 64", "memory_mib = 32", /^ukernel\.toml:5: workload\.memory_limit_mib: at most vm\.memory_mib \(32\): the guest cannot give more, found number 64$/m);
});
