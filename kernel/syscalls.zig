//! Every call a workload can make, in one place. Arguments arrive through either gate in the same
//! registers (rax = call, rdi, rsi, rdx, r10, r8); the result goes back in rax. Preliminary set for
//! the boot milestone: exit, log and the monotonic clock. The full ABI (capabilities, handles,
//! io_poll) replaces this table.
const std = @import("std");
const trap = @import("arch/x86_64/trap.zig");
const paging = @import("arch/x86_64/paging.zig");
const serial = @import("serial.zig");
const time = @import("time.zig");
const cpu = @import("arch/x86_64/cpu.zig");
const workload = @import("workload.zig");

pub const Call = enum(u64) {
    exit = 0,
    log = 1,
    time_now_ns = 2,
    /// Kernel-internal: the boot-time probe of the syscall gate. Refused outside the probe.
    gate_probe = 0x7a69_6775,
    _,
};

pub const err_bad_call: i64 = -1;
pub const err_bad_pointer: i64 = -2;
pub const err_invalid: i64 = -3;

pub const max_log_bytes: u64 = 4096;

pub var probing: bool = false;

const page_fault_vector: u64 = 14;

pub fn dispatch(frame: *trap.TrapFrame) void {
    const result: i64 = switch (@as(Call, @enumFromInt(frame.rax))) {
        .exit => workload.resumeKernel((workload.Outcome{ .exited = @truncate(frame.rdi) }).encode()),
        .log => log(frame.rdi, frame.rsi),
        .time_now_ns => @intCast(time.nowNs() & std.math.maxInt(i64)),
        .gate_probe => if (probing) workload.resumeKernel((workload.Outcome{ .probe = true }).encode()) else err_bad_call,
        _ => err_bad_call,
    };
    frame.rax = @bitCast(result);
}

fn log(ptr: u64, len: u64) i64 {
    if (len > max_log_bytes) return err_invalid;
    if (!paging.userRangeOk(ptr, len, false)) return err_bad_pointer;
    const bytes: [*]const u8 = @ptrFromInt(ptr);
    serial.write(bytes[0..len]);
    if (len == 0 or bytes[len - 1] != '\n') serial.write("\n");
    return 0;
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
