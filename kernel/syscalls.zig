//! Every call a workload can make, in one place (numbers: abi/spec.ts). Arguments arrive through
//! either gate in the same registers (rax = call, rdi, rsi, rdx, r10, r8); the result goes back in
//! rax, negative for an error. This file is the boundary: every pointer and length from ring 3 is
//! validated here, once, before the pure core (abi.zig) sees anything.
const std = @import("std");
const abi = @import("abi.zig");
const n = abi.numbers;
const trap = @import("arch/x86_64/trap.zig");
const paging = @import("arch/x86_64/paging.zig");
const cpu = @import("arch/x86_64/cpu.zig");
const lapic = @import("arch/x86_64/lapic.zig");
const serial = @import("serial.zig");
const time = @import("time.zig");
const workload = @import("workload.zig");

/// Kernel-internal: the boot-time probe of the syscall gate; outside the probe it is no call.
pub const gate_probe_call: u64 = 0x7a69_6775;
pub var probing: bool = false;

pub var core: abi.Core = undefined;
var have_rdrand: bool = false;

const page_fault_vector: u64 = 14;
/// Tries per random word before the generator counts as failed (Intel's guidance is 10).
const rdrand_retries: u32 = 10;

pub fn init(policy: u64) void {
    core.init(policy);
    have_rdrand = cpu.hasRdrand();
}

pub fn dispatch(frame: *trap.TrapFrame) void {
    if (frame.rax == gate_probe_call and probing) workload.resumeKernel((workload.Outcome{ .probe = true }).encode());
    const result = call(@enumFromInt(frame.rax), frame) catch |err| abi.errorCode(err);
    frame.rax = @bitCast(result);
}

fn call(which: n.Call, f: *const trap.TrapFrame) abi.Error!i64 {
    if (which.requiredCap()) |cap| try core.check(cap);
    return switch (which) {
        .exit => workload.resumeKernel((workload.Outcome{ .exited = @truncate(f.rdi) }).encode()),
        .log => log(f.rdi, f.rsi, f.rdx),
        .clock_now => clockNow(f.rdi),
        .cap_acquire => handle(try core.capAcquire(f.rdi)),
        .cap_enter => capEnter(f.rdi, f.rsi),
        .cap_drop => done(try core.capDrop(f.rdi)),
        .handle_close => done(try core.close(f.rdi)),
        .timer_create => handle(try core.timerCreate()),
        .timer_arm => done(try core.timerArm(f.rdi, time.nowNs(), f.rsi, f.rdx)),
        .io_register => done(try core.register(f.rdi, f.rsi, f.rdx)),
        .io_unregister => done(try core.unregister(f.rdi)),
        .io_poll => ioPoll(f.rdi, f.rsi, @bitCast(f.rdx)),
        .random => random(f.rdi, f.rsi),
        .nop => 0,
        _ => error.NoSys,
    };
}

fn done(_: void) i64 {
    return 0;
}

fn handle(h: u64) i64 {
    std.debug.assert(h > 0 and h <= std.math.maxInt(i64));
    return @intCast(h);
}

/// Ring-3 memory as a kernel slice, only after the page tables say ring 3 may touch all of it.
fn userBytes(ptr: u64, len: u64, write: bool) abi.Error![]u8 {
    if (!paging.userRangeOk(ptr, len, write)) return error.BadPointer;
    if (len == 0) return &.{};
    const p: [*]u8 = @ptrFromInt(ptr);
    return p[0..len];
}

fn log(level: u64, ptr: u64, len: u64) abi.Error!i64 {
    const prefix = switch (level) {
        n.log_error => "error: ",
        n.log_warn => "warn: ",
        n.log_info => "",
        n.log_debug => "debug: ",
        else => return error.Invalid,
    };
    if (len > n.max_log_bytes) return error.Invalid;
    const msg = try userBytes(ptr, len, false);
    serial.write(prefix);
    serial.write(msg);
    if (len == 0 or msg[len - 1] != '\n') serial.write("\n");
    return 0;
}

fn clockNow(clock: u64) abi.Error!i64 {
    return switch (clock) {
        n.clock_monotonic => @intCast(time.nowNs() & std.math.maxInt(i64)),
        n.clock_wall => if (time.wallNs()) |ns| @intCast(ns & std.math.maxInt(i64)) else error.Unsupported,
        else => error.Invalid,
    };
}

fn capEnter(ptr: u64, count: u64) abi.Error!i64 {
    if (count > abi.max_handles) return error.Invalid;
    const bytes = try userBytes(ptr, count * 8, false);
    var handles: [abi.max_handles]u64 = undefined;
    for (handles[0..count], 0..) |*h, i| h.* = std.mem.readInt(u64, bytes[i * 8 ..][0..8], .little);
    try core.capEnter(handles[0..count]);
    return 0;
}

fn ioPoll(ptr: u64, max_requested: u64, timeout_ns: i64) abi.Error!i64 {
    if (max_requested == 0) return error.Invalid;
    if (timeout_ns < n.timeout_infinite) return error.Invalid;
    const max: u64 = @min(max_requested, n.max_poll_events); // typed: @min would narrow it to u7
    const out = try userBytes(ptr, max * @sizeOf(n.Event), true);
    const start = time.nowNs();
    const give_up: ?u64 = if (timeout_ns == n.timeout_infinite) null else start +| @as(u64, @intCast(timeout_ns));
    var events: [n.max_poll_events]n.Event = undefined;
    while (true) {
        const now = time.nowNs();
        const count = core.poll(now, events[0..max]);
        if (count > 0) {
            @memcpy(out[0 .. count * @sizeOf(n.Event)], std.mem.sliceAsBytes(events[0..count]));
            return @intCast(count);
        }
        if (give_up) |g| if (now >= g) return 0;
        // Nothing registered can ever become ready: waiting forever would hang the VM.
        if (give_up == null and !core.canWake()) return error.Invalid;
        const next = core.nextDeadline();
        const wake = if (give_up) |g| (if (next) |d| @min(d, g) else g) else next.?;
        lapic.sleepUntil(wake);
    }
}

fn random(ptr: u64, len: u64) abi.Error!i64 {
    if (len > n.max_random_bytes) return error.Invalid;
    if (!have_rdrand) return error.Unsupported;
    const out = try userBytes(ptr, len, true);
    var i: usize = 0;
    while (i < out.len) {
        const word = for (0..rdrand_retries) |_| {
            if (cpu.rdrand()) |w| break w;
        } else return error.Unsupported;
        const take = @min(8, out.len - i);
        @memcpy(out[i..][0..take], std.mem.asBytes(&word)[0..take]);
        i += take;
    }
    return @intCast(len);
}

/// A fault in ring 3 ends the workload (during the gate probe it only answers the probe), unless
/// it is the first touch of a stack page.
pub fn userFault(frame: *trap.TrapFrame) void {
    if (frame.vector == page_fault_vector and workload.mapStackOnFault(cpu.readCr2(), frame.error_code)) return;
    if (probing) workload.resumeKernel((workload.Outcome{ .probe = false }).encode());
    serial.print("zigu: workload fault: {s}\n", .{trap.vectorName(frame.vector)});
    trap.printFrame(frame);
    workload.resumeKernel((workload.Outcome{ .faulted = @truncate(frame.vector) }).encode());
}

pub fn interrupt(vector: u64) void {
    if (vector == lapic.timer_vector) lapic.eoi();
}
