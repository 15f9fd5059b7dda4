//! The hostile workload: what a workload can do to the kernel on purpose, each a finding of the
//! boundary review or a class of attack, checked from ring 3 in a real VM. Expects the policy
//! zigu.caps=log,time,task. Prints one line per failure and a summary; exits 0 only when every
//! check passed (and the kernel survived to print it).
const std = @import("std");
const zigu = @import("zigu");
const abi = zigu.abi;

var passed: u32 = 0;
var failed: u32 = 0;

fn expect(comptime what: []const u8, ok: bool) void {
    if (ok) passed += 1 else {
        failed += 1;
        zigu.print("hostile: FAIL " ++ what, .{});
    }
}

const rflags_df: u64 = 1 << 10;

const DfCall = struct { value: i64, flags: u64 };

/// A call made with the direction flag set, as a workload is free to: `std`, the gate, then the
/// flags as ring 3 sees them on return, then `cld` (compiled code assumes DF clear).
fn callWithDf(nr: abi.Call, a0: u64, a1: u64, a2: u64) DfCall {
    var value: i64 = undefined;
    var flags: u64 = undefined;
    var r_nr: u64 = @intFromEnum(nr);
    var r_a0 = a0;
    var r_a1 = a1;
    var r_a2 = a2;
    var gate: u64 = zigu.gateAddress();
    asm volatile (
        \\movq %%rsp, %%rbx
        \\subq $128, %%rsp
        \\andq $-16, %%rsp
        \\std
        \\callq *%%r11
        \\pushfq
        \\popq %%r12
        \\cld
        \\movq %%rbx, %%rsp
        : [value] "={rax}" (value),
          [flags] "={r12}" (flags),
          [nr] "+{rdi}" (r_nr),
          [a0] "+{rsi}" (r_a0),
          [a1] "+{rdx}" (r_a1),
          [a2] "+{rcx}" (r_a2),
          [gate] "+{r11}" (gate),
        :
        : .{ .rbx = true, .r8 = true, .r9 = true, .r10 = true, .memory = true });
    return .{ .value = value, .flags = flags };
}

fn stackPointer() u64 {
    return asm volatile ("movq %%rsp, %[v]"
        : [v] "=r" (-> u64),
    );
}

/// Stores `value` at `addr` with the direction flag set: when `addr` is on a stack page never
/// touched before, the kernel maps the page inside this instruction's fault.
fn storeWithDf(addr: u64, value: u64) void {
    asm volatile (
        \\std
        \\movq %[v], (%[a])
        \\cld
        :
        : [a] "r" (addr),
          [v] "r" (value),
        : .{ .memory = true });
}

/// io_poll's count, or -1 for an error.
fn pollN(ev: []zigu.Event, timeout_ns: i64) i64 {
    const got = zigu.poll(ev, timeout_ns) catch return -1;
    return @intCast(got.len);
}

fn flagsNow() u64 {
    return asm volatile (
        \\pushfq
        \\popq %[v]
        : [v] "=r" (-> u64),
    );
}

// ---- finding 1: the direction flag ------------------------------------------------------------

var df_peer_flags: u64 = 0;
var df_peer_ran = false;

fn dfPeer(_: u64) callconv(.c) noreturn {
    df_peer_flags = flagsNow();
    df_peer_ran = true;
    zigu.yield() catch zigu.taskExit(2);
    zigu.taskExit(0);
}

const stack_bytes = 16 * 1024;
var stacks: [3][stack_bytes]u8 align(16) = undefined;

fn directionFlag() void {
    const msg = "hostile: logged with DF set";
    const logged = callWithDf(.log, abi.log_info, @intFromPtr(msg.ptr), msg.len);
    expect("log with DF set returns 0", logged.value == 0);
    expect("ring 3 gets its own DF back", logged.flags & rflags_df != 0);
    expect("clock_now with DF set", callWithDf(.clock_now, abi.clock_monotonic, 0, 0).value > 0);

    // io_poll copies events out with the kernel's memcpy: backwards, they would be garbage.
    const t = zigu.timerCreate() catch return expect("timer", false);
    zigu.register(t, abi.ev_readable, 0x1234_5678_9abc) catch return expect("register", false);
    zigu.timerArm(t, 1, 0) catch return expect("arm", false);
    var ev: [4]zigu.Event = @splat(.{ .user_data = 0, .events = 0 });
    const polled = callWithDf(.io_poll, @intFromPtr(&ev), ev.len, @bitCast(@as(i64, 50_000_000)));
    expect("io_poll with DF set returns the one event", polled.value == 1);
    expect("the event is copied out intact", ev[0].user_data == 0x1234_5678_9abc and ev[0].events == abi.ev_readable | abi.ev_timer);
    expect("nothing past it is written", ev[1].user_data == 0 and ev[1].events == 0);
    zigu.unregister(t) catch {};
    zigu.close(t) catch {};

    // A task switch with DF set: the switch copies trap frames; the other task has its own flags.
    const peer = zigu.spawn(dfPeer, 0, &stacks[0]) catch return expect("spawn", false);
    const yielded = callWithDf(.task_yield, 0, 0, 0);
    expect("task_yield with DF set", yielded.value == 0 and df_peer_ran);
    expect("the other task does not run with our DF", df_peer_flags & rflags_df == 0);
    expect("our DF survives the switch", yielded.flags & rflags_df != 0);
    expect("the peer ends", (zigu.join(peer) catch 99) == 0);
    zigu.close(peer) catch {};

    // Fresh stack pages mapped inside a fault taken with DF set: the page below keeps its data.
    const base = std.mem.alignBackward(u64, stackPointer(), 4096) - 48 * 4096;
    const lower: *volatile [512]u64 = @ptrFromInt(base - 4096);
    const upper: *volatile [512]u64 = @ptrFromInt(base);
    storeWithDf(base - 4096 + 8, 0x5a5a);
    lower[511] = 0xa5a5;
    storeWithDf(base + 8, 0x7777);
    expect("stack page mapped under DF holds the store", upper[1] == 0x7777);
    expect("the page below keeps its data", lower[1] == 0x5a5a and lower[511] == 0xa5a5);
    var dirty: usize = 0;
    for (0..512) |i| if (i != 1 and upper[i] != 0) {
        dirty += 1;
    };
    expect("the fresh stack page is otherwise zero", dirty == 0);
}

// ---- finding 2: timer periods that overflow ------------------------------------------------------

fn hugePeriods() void {
    const max = std.math.maxInt(u64);
    for ([_]u64{ max, max - 1, 1 << 63, (1 << 63) + 1 }) |period| {
        const t = zigu.timerCreate() catch return expect("timer", false);
        zigu.register(t, abi.ev_readable, 1) catch return expect("register", false);
        zigu.timerArm(t, 1, period) catch return expect("arm with a huge period", false);
        var ev: [2]zigu.Event = undefined;
        expect("a huge period fires once", pollN(&ev, 100_000_000) == 1);
        expect("and not again within 5 ms", pollN(&ev, 5_000_000) == 0);
        zigu.unregister(t) catch {};
        zigu.close(t) catch {};
    }
    // A huge delay never fires; a 1 ns period collapses missed periods into one event a poll.
    const never = zigu.timerCreate() catch return expect("timer", false);
    zigu.register(never, abi.ev_readable, 2) catch {};
    zigu.timerArm(never, max, max) catch return expect("arm with a huge delay", false);
    var ev: [4]zigu.Event = undefined;
    expect("a huge delay does not fire", pollN(&ev, 2_000_000) == 0);
    zigu.timerArm(never, 1, 1) catch return expect("arm 1 ns periodic", false);
    var polls: i64 = 0;
    for (0..100) |_| polls += pollN(&ev, 10_000_000);
    expect("a 1 ns period gives one event per poll", polls == 100);
    zigu.unregister(never) catch {};
    zigu.close(never) catch {};
}

// ---- finding 3: a poller among tasks that keep yielding ------------------------------------------

var stop_yielding = false;
var gave_up = false;
var yields: u64 = 0;

fn yielder(_: u64) callconv(.c) noreturn {
    const give_up = zigu.nowNs() + 3_000_000_000;
    while (!@atomicLoad(bool, &stop_yielding, .monotonic)) {
        if (zigu.nowNs() > give_up) { // the poller never came back
            @atomicStore(bool, &gave_up, true, .monotonic);
            zigu.taskExit(1);
        }
        yields += 1;
        zigu.yield() catch zigu.taskExit(2);
    }
    zigu.taskExit(0);
}

fn pollerAmongYielders() void {
    stop_yielding = false;
    const a = zigu.spawn(yielder, 0, &stacks[1]) catch return expect("spawn", false);
    const b = zigu.spawn(yielder, 0, &stacks[2]) catch return expect("spawn", false);
    var ev: [2]zigu.Event = undefined;
    // Its own timeout, with nothing registered.
    const start = zigu.nowNs();
    const timed_out = pollN(&ev, 10_000_000);
    const waited = zigu.nowNs() - start;
    expect("the poll's timeout ends it while two tasks yield", timed_out == 0 and waited >= 10_000_000);
    expect("the poll ended before the yielders gave up on it", !@atomicLoad(bool, &gave_up, .monotonic));
    // A due timer ends an infinite poll.
    const t = zigu.timerCreate() catch return expect("timer", false);
    zigu.register(t, abi.ev_readable, 5) catch {};
    zigu.timerArm(t, 5_000_000, 0) catch {};
    const got = pollN(&ev, abi.timeout_infinite);
    expect("a due timer ends an infinite poll while two tasks yield", got == 1 and ev[0].user_data == 5);
    @atomicStore(bool, &stop_yielding, true, .monotonic);
    expect("the yielders saw the poller come back", (zigu.join(a) catch 9) == 0 and (zigu.join(b) catch 9) == 0);
    // Each poll blocked at least once, and a yielder ran then (how many times depends on how
    // long the host let the VM run: not a number to test).
    expect("the yielders ran meanwhile", yields >= 1);
    zigu.unregister(t) catch {};
    zigu.close(t) catch {};
    zigu.close(a) catch {};
    zigu.close(b) catch {};
}

// ---- finding 4: zigu.sleepNs, more than once ------------------------------------------------------

fn repeatedSleeps() void {
    for (0..3) |_| {
        const start = zigu.nowNs();
        zigu.sleepNs(20_000_000) catch return expect("sleepNs", false);
        const slept = zigu.nowNs() - start;
        expect("every sleepNs(20 ms) sleeps at least 20 ms", slept >= 20_000_000);
    }
}

// ---- escapes: each must end the workload with a fault (zigu.arg=<name> picks one) ----------------

// `int N` from ring 3 (zigu.arg=int<N>, any N): every gate but the trap gate (3, a call, tested by
// every suite that runs on it) is DPL 0, so ring 3 must get a fault, never the handler of N.

var ret_buffer: [16]u8 = undefined;

const chatty_lines = 2000;

fn escape(name: []const u8) void {
    zigu.print("hostile: escape {s}", .{name});
    if (std.mem.eql(u8, name, "exec-stack")) {
        var code: [16]u8 = @splat(0xC3); // ret
        const f: *const fn () callconv(.c) void = @ptrCast(&code);
        f();
    } else if (std.mem.eql(u8, name, "exec-data")) {
        ret_buffer = @splat(0xC3);
        const f: *const fn () callconv(.c) void = @ptrCast(&ret_buffer);
        f();
    } else if (std.mem.eql(u8, name, "write-text")) {
        const text: *volatile u8 = @ptrCast(@constCast(&escape));
        text.* = 0xC3;
    } else if (std.mem.eql(u8, name, "write-info")) {
        const info: *volatile u8 = @ptrFromInt(zigu.layout.user_info_addr + zigu.layout.user_gate_offset);
        info.* = 0xC3; // the gate stub: read-only to ring 3
    } else if (std.mem.eql(u8, name, "read-kernel")) {
        const kernel: *const volatile u8 = @ptrFromInt(0x100000);
        _ = kernel.*;
    } else if (std.mem.eql(u8, name, "below-stack")) {
        const below: *volatile u8 = @ptrFromInt(zigu.layout.user_stack_top - zigu.layout.user_stack_size_bytes - 1);
        below.* = 1;
    } else if (std.mem.eql(u8, name, "sgdt")) {
        var gdtr: [10]u8 = undefined;
        asm volatile ("sgdt (%[p])"
            :
            : [p] "r" (&gdtr),
            : .{ .memory = true });
    } else if (std.mem.eql(u8, name, "cli")) {
        asm volatile ("cli");
    } else if (std.mem.eql(u8, name, "hlt")) {
        asm volatile ("hlt");
    } else if (std.mem.eql(u8, name, "wrmsr")) {
        asm volatile ("wrmsr"
            :
            : [c] "{ecx}" (@as(u32, 0xC000_0082)),
              [a] "{eax}" (@as(u32, 0)),
              [d] "{edx}" (@as(u32, 0)),
        );
    } else if (std.mem.eql(u8, name, "outb")) {
        asm volatile ("outb %%al, $0x64" // the i8042 reset line
            :
            : [a] "{al}" (@as(u8, 0xFE)),
        );
    } else if (std.mem.eql(u8, name, "df-fault")) {
        asm volatile ("std; ud2");
    } else if (std.mem.startsWith(u8, name, "int")) {
        const n = std.fmt.parseInt(u8, name[3..], 10) catch return;
        inline for (0..256) |v| if (n == v) asm volatile ("int %[v]"
            :
            : [v] "i" (v),
            : .{ .memory = true });
    } else return zigu.print("hostile: unknown escape {s}", .{name});
    zigu.print("hostile: escape {s} not stopped", .{name});
}

// ---- vector state across kernel entries -----------------------------------------------------------

/// AVX is on for ring 3 when the kernel set CR4.OSXSAVE and XCR0 has AVX (it prints which).
fn avxEnabled() bool {
    const ecx = asm volatile ("cpuid"
        : [c] "={ecx}" (-> u32),
        : [a] "{eax}" (@as(u32, 1)),
          [s] "{ecx}" (@as(u32, 0)),
        : .{ .rbx = true, .rdx = true });
    if (ecx & (1 << 27) == 0) return false; // OSXSAVE
    const xcr0 = asm volatile ("xgetbv"
        : [a] "={eax}" (-> u32),
        : [c] "{ecx}" (@as(u32, 0)),
        : .{ .rdx = true });
    return xcr0 & 0x6 == 0x6;
}

/// A ymm register holds its value across a kernel entry (the kernel has no SSE/AVX code and must
/// not disturb ring 3's vector state), through the gate and a task switch.
fn vectorState() void {
    if (!avxEnabled()) return zigu.log("hostile: AVX off: vector state check skipped");
    var in: [32]u8 align(32) = undefined;
    for (&in, 0..) |*b, i| b.* = @intCast(i * 7 + 1);
    var out: [32]u8 align(32) = @splat(0);
    var nr: u64 = @intFromEnum(abi.Call.task_yield);
    var gate: u64 = zigu.gateAddress();
    asm volatile (
        \\vmovdqu (%[in]), %%ymm8
        \\movq %%rsp, %%rbx
        \\subq $128, %%rsp
        \\andq $-16, %%rsp
        \\callq *%%r11
        \\movq %%rbx, %%rsp
        \\vmovdqu %%ymm8, (%[out])
        \\vzeroupper
        : [nr] "+{rdi}" (nr),
          [gate] "+{r11}" (gate),
        : [in] "r" (&in),
          [out] "r" (&out),
        : .{ .rax = true, .rbx = true, .rcx = true, .rdx = true, .rsi = true, .r8 = true, .r9 = true, .r10 = true, .ymm8 = true, .memory = true });
    expect("ymm8 survives a kernel entry", std.mem.eql(u8, &in, &out));
}

/// What the boot line calls open to ring 3 is: the TSC and RDRAND need no capability (policy
/// zigu.caps=log: neither time nor random). The tests check this claim as they check the others.
fn advisory() u8 {
    zigu.enter(&.{.log}) catch return 3;
    expect("clock_now is refused without time", zigu.clockNow(abi.clock_monotonic) == error.Permission);
    const t0 = asm volatile ("rdtsc; shlq $32, %%rdx; orq %%rdx, %%rax"
        : [v] "={rax}" (-> u64),
        :
        : .{ .rdx = true });
    var spin: u64 = 0;
    while (spin < 1000) : (spin += 1) std.mem.doNotOptimizeAway(spin);
    const t1 = asm volatile ("rdtsc; shlq $32, %%rdx; orq %%rdx, %%rax"
        : [v] "={rax}" (-> u64),
        :
        : .{ .rdx = true });
    expect("rdtsc counts in ring 3 without time", t1 > t0);
    var buf: [4]u8 = undefined;
    expect("random is refused without random", zigu.random(&buf) == error.Permission);
    const ecx = asm volatile ("cpuid"
        : [c] "={ecx}" (-> u32),
        : [a] "{eax}" (@as(u32, 1)),
          [s] "{ecx}" (@as(u32, 0)),
        : .{ .rbx = true, .rdx = true });
    if (ecx & (1 << 30) != 0) {
        var ok: u8 = 0;
        for (0..10) |_| {
            asm volatile ("rdrand %%rax; setc %[ok]"
                : [ok] "=r" (ok),
                :
                : .{ .rax = true });
            if (ok != 0) break;
        }
        expect("rdrand gives bits in ring 3 without random", ok != 0);
    }
    zigu.print("hostile: advisory {d} passed, {d} failed", .{ passed, failed });
    return if (failed == 0) 0 else 1;
}

/// Refusals by the thousand (tests/boot/refusals.test.ts): the kernel must say each kind once, not
/// once per call. Acquires outside the policy, calls without their capability, then a line of its own.
fn refusalFlood() u8 {
    for (0..5000) |_| {
        _ = zigu.raw(.cap_acquire, @intFromEnum(zigu.Cap.net), 0, 0);
        _ = zigu.raw(.cap_acquire, @intFromEnum(zigu.Cap.random), 0, 0);
        _ = zigu.raw(.timer_create, 0, 0, 0);
        _ = zigu.raw(.log, zigu.abi.log_info, 0, 0);
    }
    zigu.enter(&.{.log}) catch return 3;
    zigu.log("hostile: flood done");
    return 0;
}

pub fn main() u8 {
    if (std.mem.eql(u8, zigu.launchArg(), "advisory")) return advisory();
    if (std.mem.eql(u8, zigu.launchArg(), "refusal-flood")) return refusalFlood();
    zigu.enter(&.{ .log, .time, .task }) catch return 3;
    if (std.mem.eql(u8, zigu.launchArg(), "chatty")) {
        // Numbered lines, more than a pipe holds: the host reads the console slowly on purpose.
        for (0..chatty_lines) |i| zigu.print("hostile: chatty line {d:0>5} of {d}, padded to be long enough to fill pipes", .{ i, chatty_lines });
        return 0;
    }
    if (zigu.launchArg().len > 0) {
        escape(zigu.launchArg());
        return 1;
    }
    directionFlag();
    hugePeriods();
    pollerAmongYielders();
    repeatedSleeps();
    vectorState();
    zigu.print("hostile: {d} passed, {d} failed", .{ passed, failed });
    return if (failed == 0) 0 else 1;
}
