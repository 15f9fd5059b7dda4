//! The workload side of the kernel entry: a Zig workload calls the kernel through the gate stub the
//! kernel mapped for it (its address is in the WorkloadInfo block handed over in rdi at entry), so
//! no workload hard-codes `syscall` or the trap gate.
const std = @import("std");
pub const layout = @import("layout");

pub const Call = enum(i64) { exit = 0, log = 1, time_now_ns = 2 };

const Gate = *const fn (nr: i64, a0: i64, a1: i64, a2: i64, a3: i64, a4: i64) callconv(.c) i64;

var info: *const layout.WorkloadInfo = undefined;

pub fn init(workload_info: *const layout.WorkloadInfo) void {
    info = workload_info;
    if (info.magic != layout.workload_info_magic) @trap();
}

pub fn call(nr: Call, a0: i64, a1: i64) i64 {
    const gate: Gate = @ptrFromInt(info.gate);
    return gate(@intFromEnum(nr), a0, a1, 0, 0, 0);
}

pub fn gateKind() layout.GateKind {
    return @enumFromInt(info.gate_kind);
}

pub fn log(msg: []const u8) void {
    _ = call(.log, @intCast(@intFromPtr(msg.ptr)), @intCast(msg.len));
}

pub fn print(comptime fmt: []const u8, args: anytype) void {
    var buf: [1024]u8 = undefined;
    log(std.fmt.bufPrint(&buf, fmt, args) catch "zigu: print: line too long");
}

pub fn nowNs() u64 {
    return @intCast(call(.time_now_ns, 0, 0));
}

pub fn exit(code: u8) noreturn {
    _ = call(.exit, code, 0);
    unreachable;
}

/// Exit status of a workload that panics.
pub const panic_status: u8 = 101;

pub fn panicHandler(msg: []const u8, _: ?usize) noreturn {
    print("workload panic: {s}", .{msg});
    exit(panic_status);
}
