// Boots the real kernel in QEMU microvm under every available accelerator and reads its console.
import { describe, test, before } from "node:test";
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { join } from "node:path";
import { accelerators, boot, bootTimeoutMs, kernel, lines } from "./harness.ts";
import { qemuCommand } from "../../src/vmm/qemu.ts";
import { status } from "../../src/console.ts";
import { builtinWorkloads, releaseOptimize, type Optimize } from "../../src/zig.ts";

const banner = /^zigu \d+\.\d+\.\d+: booted by PVH, \d+ MiB usable, cmdline "console=ttyS0 /;
// The one line a default (quiet) boot prints before the workload runs.
const quietLine = /^zigu \d+\.\d+\.\d+: boot \d+ us, gate (syscall|trap) \((probed|forced)\), tsc \d+ kHz \((kvmclock|PIT, \d+ windows|zigu\.tsc_hz)\)$/;
const gateLine = /^zigu: gate (syscall|trap) \((probed|forced)\)/;

before(async () => {
  await kernel("Debug");
});

for (const accel of accelerators()) {
  describe(`QEMU microvm, ${accel.toUpperCase()}`, () => {
    test("boots the sample: one kernel line, the line from ring 3, exit 0 as the last line", async () => {
      const r = await boot(accel, "zigu.workload=hello");
      assert.equal(r.timedOut, false, r.console);
      const out = lines(r.console);
      const m = quietLine.exec(out[0] ?? "");
      assert.ok(m, r.console);
      assert.equal(m[2], "probed");
      assert.equal(out[1], `hello from ring 3 (gate: ${m[1]})`, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      assert.equal(out.at(-1), "zigu: exit 0");
    });

    test("zigu.verbose=1: banner first, boot phases, the gate line, then the workload", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.verbose=1");
      const out = lines(r.console);
      assert.match(out[0] ?? "", banner, r.console);
      assert.match(out[0] ?? "", /zigu\.verbose=1/);
      const phases = out.find((l) => l.startsWith("zigu: boot phases (us): "));
      assert.ok(phases, r.console);
      for (const name of ["cpu", "bootinfo", "tsc", "lapic", "wall", "memory", "image", "policy", "net", "protections", "load", "probe"]) {
        assert.match(phases, new RegExp(` ${name} \\d+( |$)`), phases);
      }
      const gate = out.map((l) => gateLine.exec(l)).find((g) => g);
      assert.ok(gate, `no gate line:\n${r.console}`);
      assert.equal(gate[2], "probed");
      assert.ok(out.includes(`hello from ring 3 (gate: ${gate[1]})`), r.console);
      assert.ok(!out.some((l) => quietLine.test(l)), r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    if (accel === "tcg") {
      test("under TCG the probe finds that syscall reaches ring 0 and picks it", async () => {
        const r = await boot(accel, "zigu.workload=hello");
        assert.match(r.console, /^zigu \S+: boot \d+ us, gate syscall \(probed\)/m);
        assert.match(r.console, /^hello from ring 3 \(gate: syscall\)$/m);
      });
    }

    test("the trap gate carries calls: SSE in ring 3, clock, refused bad pointers, exit 7", async () => {
      const r = await boot(accel, "zigu.workload=exitcode zigu.gate=trap");
      assert.match(r.console, /, gate trap \(forced\), /);
      assert.match(r.console, /^sse 264\.325 clock_monotonic true bad_pointer -3 -3$/m);
      assert.deepEqual(r.end, { kind: "exit", status: 7 }, r.console);
    });

    test("forcing the syscall gate works exactly where the probe chose it", async () => {
      const r = await boot(accel, "zigu.workload=exitcode zigu.gate=syscall");
      assert.match(r.console, /, gate syscall \(forced\), /);
      const probe = await boot(accel, "zigu.workload=hello");
      if (/, gate syscall \(probed\), /.test(probe.console)) {
        assert.match(r.console, /^sse 264\.325 clock_monotonic true bad_pointer -3 -3$/m);
        assert.deepEqual(r.end, { kind: "exit", status: 7 }, r.console);
      } else {
        // kvm-pvm: syscall stays in ring 3 and faults fetching the supervisor entry point.
        assert.match(r.console, /zigu: workload fault: #PF page fault/);
        assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(14) }, r.console);
      }
    });

    test("a workload touching kernel memory is stopped with a fault report and status 142", async () => {
      const r = await boot(accel, "zigu.workload=fault");
      assert.match(r.console, /^about to read kernel memory$/m);
      assert.doesNotMatch(r.console, /the kernel is not protected/);
      assert.match(r.console, /^zigu: workload fault: #PF page fault$/m);
      assert.match(r.console, /vector=14 \(#PF page fault\) error=0x5 .* cs=0x23 .* cr2=0x200000$/m);
      assert.deepEqual(r.end, { kind: "exit", status: status.workloadFault(14) }, r.console);
    });

    test("a kernel exception prints a panic with registers and exits 255", async () => {
      const r = await boot(accel, "zigu.test=kernel-fault");
      assert.match(r.console, /^zigu: panic: kernel exception: #PF page fault at rip=0x[0-9a-f]+$/m);
      assert.doesNotMatch(r.console, /stack overflow/);
      assert.match(r.console, /cs=0x8 .* cr2=0x700000000000$/m);
      assert.match(r.console, /^zigu: {3}rax=0x[0-9a-f]+ rbx=/m);
      assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
    });

    test("a kernel stack overflow hits the guard page and panics instead of corrupting memory", async () => {
      const r = await boot(accel, "zigu.test=stack-overflow");
      assert.match(r.console, /^zigu: panic: kernel stack overflow: #DF double fault at rip=0x[0-9a-f]+$/m);
      assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
    });

    // Every built-in suite runs on both kernels: the release one keeps its checks (ReleaseSafe).
    for (const optimize of ["Debug", releaseOptimize] as Optimize[]) {
      const opt = { optimize };
      const tag = optimize === "Debug" ? "" : ` [${optimize}]`;
      test(`the in-guest ABI suite passes: capability matrix, handles, io_poll, hostile pointers${tag}`, async () => {
        const r = await boot(accel, "zigu.workload=abi zigu.caps=log,time,random", opt);
        assert.doesNotMatch(r.console, /abi: FAIL/);
        const m = /^abi: (\d+) passed, 0 failed$/m.exec(r.console);
        assert.ok(m, r.console);
        assert.ok(Number(m[1]) >= 70, r.console);
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      });

      for (const gate of ["auto", "trap"]) {
        test(`cooperative tasks: round robin, join, io_poll while others run, refusals (gate ${gate})${tag}`, async () => {
          const r = await boot(accel, `zigu.workload=tasks zigu.caps=log,time,task zigu.gate=${gate}`, opt);
          assert.doesNotMatch(r.console, /tasks: FAIL/);
          assert.match(r.console, /^tasks: \d+ passed, 0 failed$/m);
          assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
        });
      }

      for (const gate of ["auto", "trap"]) {
        test(`the hostile workload: DF set across calls, switches and faults; huge timer periods; a poller among yielders; repeated sleeps (gate ${gate})${tag}`, async () => {
          const r = await boot(accel, `zigu.workload=hostile zigu.caps=log,time,task zigu.gate=${gate}`, opt);
          assert.doesNotMatch(r.console, /hostile: FAIL/, r.console);
          assert.match(r.console, /^hostile: \d+ passed, 0 failed$/m, r.console);
          assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
        });
      }

      test(`a 200 MiB .bss loads without zeroing in ring 0 and reads as zero from ring 3${tag}`, async () => {
        const r = await boot(accel, "zigu.workload=bigbss zigu.caps=log", opt);
        assert.match(r.console, /^bigbss: 200 MiB, 0 non-zero words, 0 wrong after writing$/m, r.console);
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      });

      test(`abi_smoke.c, the C face of the ABI, passes as a ring-3 workload${tag}`, async () => {
        const r = await boot(accel, "zigu.workload=abi_smoke zigu.caps=log,time,random,task", opt);
        assert.match(r.console, /^abi_smoke: failed 0$/m);
        assert.match(r.console, /^abi_smoke: ok$/m);
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      });
    }

    test("the wall clock comes from the RTC, or from the launcher's zigu.epoch_ns when given", async () => {
      // The guest's reading must fall between the host's clock before and after that boot (with
      // a second of slack each side: the RTC counts whole seconds). A fixed bound against the
      // host's clock after both boots failed on a loaded machine, where a boot can take seconds.
      const timed = async (cmdline: string) => {
        const before = Date.now();
        const r = await boot(accel, cmdline);
        return { r, before, after: Date.now() };
      };
      const fromRtc = await timed("zigu.workload=abi zigu.verbose=1");
      assert.match(fromRtc.r.console, /wall clock: rtc \(read on first use\),/, fromRtc.r.console);
      const launcherNs = BigInt(Date.now()) * 1_000_000n + 123_456n;
      const fromLauncher = await timed(`zigu.workload=abi zigu.verbose=1 zigu.epoch_ns=${launcherNs}`);
      assert.match(fromLauncher.r.console, /wall clock: launcher,/, fromLauncher.r.console);
      for (const { r, before, after } of [fromRtc, fromLauncher]) {
        const m = /^abi: wall_s=(\d+)$/m.exec(r.console);
        assert.ok(m?.[1], r.console);
        const wall = Number(m[1]);
        assert.ok(wall >= Math.floor(before / 1000) - 1 && wall <= Math.ceil(after / 1000) + 1, `guest wall clock ${wall} outside the boot's host window ${before / 1000}..${after / 1000}\n${r.console}`);
        assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
      }
    });

    test("the TSC calibration agrees with itself across boots within 2% (a descheduled vCPU once gave 30 MHz for 2.4 GHz)", async () => {
      const mhz: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await boot(accel, "zigu.workload=hello");
        const m = /tsc (\d+) kHz \(([^)]+)\)/.exec(r.console);
        assert.ok(m?.[1], r.console);
        mhz.push(Number(m[1]) / 1000);
      }
      const lo = Math.min(...mhz);
      const hi = Math.max(...mhz);
      // Within 2%: a loaded host still skews windows a little; the failure this guards against
      // was a factor of 80.
      assert.ok(hi <= lo * 1.02, `TSC frequencies ${mhz.join(", ")} MHz differ by more than 2%`);
    });

    test("the policy decides: without log in zigu.caps the sample cannot log and says so by its status", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.caps=time");
      assert.doesNotMatch(r.console, /hello from ring 3/);
      assert.deepEqual(r.end, { kind: "exit", status: 3 }, r.console);
    });

    test("an unknown capability in the policy is a clear panic", async () => {
      const r = await boot(accel, "zigu.workload=hello zigu.caps=log,disk");
      assert.match(r.console, /zigu: panic: policy "log,disk" \(built in\): unknown capability \(known: log, time, task, io, net, random\)/);
      assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
    });

    test("an unknown workload name is a clear panic, not a hang", async () => {
      const r = await boot(accel, "zigu.workload=nosuch");
      assert.ok(r.console.includes(`zigu: panic: no workload named 'nosuch' (built in: ${builtinWorkloads().join(", ")}; or initrd, disk)`), r.console);
      assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
    });

    test("loads a workload ELF handed over as the initrd (a PVH boot module)", async () => {
      const k = await kernel("Debug");
      const r = await boot(accel, "zigu.workload=initrd", { initrd: join(k.workloadsDir, "exitcode") });
      assert.match(r.console, /^sse 264\.325 /m);
      assert.deepEqual(r.end, { kind: "exit", status: 7 }, r.console);
    });

    test("a hung guest is stopped by the host timeout and has no exit line", async () => {
      const r = await boot(accel, "zigu.workload=hang", { timeoutMs: 3_000 });
      assert.equal(r.timedOut, true);
      assert.match(r.console, /^hanging on purpose$/m);
      assert.deepEqual(r.end, { kind: "no-exit-line" }, r.console);
    });

    test(`the ${releaseOptimize} kernel boots the sample too`, async () => {
      const r = await boot(accel, "zigu.workload=hello", { optimize: releaseOptimize });
      assert.match(r.console, /^hello from ring 3 \(gate: (syscall|trap)\)$/m);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });
  });
}

// The console is the only output a guest has: nothing of it may be lost when the host reads it
// slowly (a loaded machine, a paused pipe). The kernel used to give up on the UART after 100,000
// polls and drop bytes, which cut a panic message in half on a loaded CI machine.
describe("the serial console under back-pressure", () => {
  test("every line arrives when the host stops reading the console for 3 s", async () => {
    const k = await kernel("Debug");
    const accel = accelerators()[0]!;
    const args = qemuCommand({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=hostile zigu.caps=log,time,task zigu.arg=chatty", accel });
    const child = spawn(args[0]!, args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 3000));
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (out += d));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill("SIGKILL"), bootTimeoutMs);
    await new Promise((r) => child.on("exit", r));
    clearTimeout(timer);
    const got = lines(out).filter((l) => l.startsWith("hostile: chatty line "));
    assert.equal(got.length, 2000, out.slice(-2000));
    got.forEach((l, i) => assert.equal(l, `hostile: chatty line ${String(i).padStart(5, "0")} of 2000, padded to be long enough to fill pipes`));
    assert.equal(lines(out).at(-1), "zigu: exit 0");
  });
});
