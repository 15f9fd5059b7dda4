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

const netToml = (network: string, allow = '"log", "net"') =>
  `[workload]\nname = "app"\nentry = "src/main.ts"\nruntime = "typescript"\n\n[capabilities]\nallow = [${allow}]\n\n[network]\n${network}\n`;

test("[network] travels in the policy file as net.* lines, with QEMU's user network as the defaults", () => {
  const p = project(netToml('listen = [80]\nconnect = ["10.0.2.2:8000", "10.1.0.0/16:*", "1.2.3.4:1000-2000"]'));
  assert.equal(policyFile(p), "log,net\nnet.address=10.0.2.15/24\nnet.gateway=10.0.2.2\nnet.dns=10.0.2.3\nnet.listen=80\nnet.connect=10.0.2.2:8000,10.1.0.0/16:*,1.2.3.4:1000-2000\n");
  assert.equal(policyFile(p, ["93.184.215.14/32:80"]), "log,net\nnet.address=10.0.2.15/24\nnet.gateway=10.0.2.2\nnet.dns=10.0.2.3\nnet.listen=80\nnet.connect=93.184.215.14/32:80\n");
});

test("bad [network] values name their line and key; [network] needs the net capability", () => {
  const bad = (network: string, message: RegExp, allow?: string) =>
    assert.throws(() => parseConfig(netToml(network, allow), "ukernel.toml"), (e: unknown) => e instanceof UserError && message.test(e.message), network);
  bad('address = "10.0.2"', /^ukernel\.toml:10: network\.address: an IPv4 address with its prefix/m);
  bad('address = "10.0.2.15/31"', /network\.address/);
  bad("listen = [0]", /network\.listen/);
  bad("listen = [65536]", /network\.listen/);
  bad('connect = ["10.0.2.2"]', /network\.connect.*a destination/);
  bad('connect = ["10.0.2.2:9-8"]', /network\.connect/);
  bad('connect = ["example.com/24:80"]', /network\.connect/);
  bad('connect = ["-bad-.example:80"]', /network\.connect/);
  bad('forward = ["8080:81"]\nlisten = [80]', /network\.forward: 8080:81: guest port 81 is not in network\.listen/);
  bad('forward = ["8080"]', /network\.forward/);
  bad("mtu = 9000", /network.*mtu/);
  bad("listen = [80]", /^ukernel\.toml:\d+: network: needs "net" in capabilities\.allow/m, '"log"');
  assert.ok(project(netToml('connect = ["example.com:80", "localhost:*"]')));
});
