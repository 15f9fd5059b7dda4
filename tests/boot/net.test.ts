// The kernel's frame device in a real microVM (QEMU's user network), under every available
// accelerator: the net workload (tests/kernel/workloads/net.zig) is refused without CAP_NET, has its
// hostile arguments refused, talks ARP with the gateway through io_poll and net_recv, and sees the
// kernel drop and count what its policy does not allow; a bad network policy stops the boot.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { accelerators, boot, kernel } from "./harness.ts";
import { status } from "../../src/console.ts";

before(async () => {
  await kernel("Debug");
});

const policy = "zigu.net.address=10.0.2.15/24 zigu.net.gateway=10.0.2.2 zigu.net.connect=10.0.2.2/32:80";

for (const accel of accelerators()) {
  describe(`the frame device on QEMU microvm, ${accel.toUpperCase()}`, () => {
    test("CAP_NET gates it, hostile batches are refused, ARP gets its answer, the policy drops and counts", async () => {
      const r = await boot(accel, `zigu.workload=net zigu.caps=log,net zigu.verbose=1 ${policy}`, { net: { kind: "user", forwards: [] } });
      assert.match(r.console, /^zigu: net: virtio-net at 0x[0-9a-f]+ irq \d+, mac 52:54:00:12:34:56$/m, r.console);
      assert.doesNotMatch(r.console, /net: FAIL/, r.console);
      assert.match(r.console, /^net: arp: 10\.0\.2\.2 is at 52:55:0a:00:02:02$/m, r.console);
      assert.match(r.console, /^net: \d+ passed, 0 failed$/m, r.console);
      // The SYN to 1.2.3.4:80 and the 32 garbage frames: dropped by the kernel, not sent.
      const m = /^zigu: net: frames out (\d+), in (\d+); dropped by the policy: out (\d+), in (\d+); kernel entries (\d+)$/m.exec(r.console);
      assert.ok(m, r.console);
      assert.equal(Number(m[1]), 1, "only the ARP request went out");
      assert.equal(Number(m[3]), 33, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    test("a policy without CAP_NET: net_open refused, the workload says so", async () => {
      const r = await boot(accel, `zigu.workload=net zigu.caps=log ${policy}`, { net: { kind: "user", forwards: [] } });
      assert.match(r.console, /^net: cap_enter\(net\) refused: Permission$/m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 91 }, r.console);
    });

    test("no network device: net_open is ERR_UNSUPPORTED", async () => {
      const r = await boot(accel, `zigu.workload=net zigu.caps=log,net ${policy}`);
      assert.match(r.console, /^net: net_open: Unsupported$/m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 92 }, r.console);
    });

    test("a malformed network policy stops the boot with a clear panic", async () => {
      for (const [key, bad] of [["address", "10.0.2"], ["listen", "0"], ["connect", "1.2.3.4"], ["connect", "1.2.3.4/40:80"]] as const) {
        const r = await boot(accel, `zigu.workload=hello zigu.caps=log zigu.net.${key}=${bad}`);
        assert.match(r.console, new RegExp(`zigu: panic: zigu\\.net\\.${key}=${bad.replaceAll(".", "\\.")}: BadNetPolicy`), r.console);
        assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
      }
    });
  });
}
