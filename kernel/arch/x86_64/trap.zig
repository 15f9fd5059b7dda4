//! The common landing of every entry into ring 0 (entry.S builds the frame): exceptions,
//! interrupts, the trap gate (vector 3 from ring 3) and the syscall instruction (vector 256).
const std = @import("std");
const cpu = @import("cpu.zig");
const serial = @import("../../devices/serial.zig");
const paging = @import("paging.zig");

pub const syscall_vector: u64 = 256;

/// Pushed by entry.S; the lowest address first. Field order must match SAVE_GPRS.
pub const TrapFrame = extern struct {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rbx: u64,
    rax: u64,
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,

    pub fn fromUser(self: *const TrapFrame) bool {
        return self.cs & 3 == 3;
    }
};

comptime {
    std.debug.assert(@sizeOf(TrapFrame) == 22 * 8);
}

/// What the kernel does with each kind of entry; set by main.zig before the first ring-3 entry.
/// Calls through either gate do not come here: entry.S hands them to gate.zig's gateKernelCall.
pub const Handlers = struct {
    /// An exception raised by ring 3: either mended (returns, and ring 3 retries) or the end of
    /// the workload (does not return).
    user_fault: *const fn (frame: *TrapFrame) void,
    /// A hardware interrupt (vector 32..47), from either ring.
    interrupt: *const fn (vector: u64) void,
};

pub var handlers: ?Handlers = null;

pub const exception_names = [_][]const u8{
    "#DE divide error",      "#DB debug",                 "NMI",                    "#BP breakpoint",
    "#OF overflow",          "#BR bound range",           "#UD invalid opcode",     "#NM device not available",
    "#DF double fault",      "coprocessor overrun",       "#TS invalid TSS",        "#NP segment not present",
    "#SS stack fault",       "#GP general protection",    "#PF page fault",         "reserved 15",
    "#MF x87 FP error",      "#AC alignment check",       "#MC machine check",      "#XM SIMD FP error",
    "#VE virtualization",    "#CP control protection",
};

pub fn vectorName(vector: u64) []const u8 {
    if (vector < exception_names.len) return exception_names[vector];
    if (vector < 32) return "reserved exception";
    return "interrupt";
}

export fn trapDispatch(frame: *TrapFrame) callconv(.c) void {
    const h = handlers orelse panicFrame("trap before handlers were set", frame);
    // entry.S loads the kernel's rflags on every path: a direction or alignment-check flag seen
    // here means an entry path skipped it, and every string copy would run wrong.
    if (cpu.readFlags() & (cpu.rflags_df | cpu.rflags_ac) != 0) panicFrame("entered with the caller's rflags", frame);
    if (frame.vector == 255) return; // spurious: no end-of-interrupt
    if (frame.vector >= 32) return h.interrupt(frame.vector);
    if (frame.fromUser()) {
        return h.user_fault(frame);
    }
    const fault_addr = cpu.readCr2();
    if ((frame.vector == 8 or frame.vector == 14) and paging.isStackGuard(fault_addr)) panicFrame("kernel stack overflow", frame);
    panicFrame("kernel exception", frame);
}

pub fn printFrame(frame: *const TrapFrame) void {
    serial.print("zigu:   vector={d} ({s}) error=0x{x} rip=0x{x} cs=0x{x} rflags=0x{x} rsp=0x{x} ss=0x{x} cr2=0x{x}\n", .{
        frame.vector, vectorName(frame.vector), frame.error_code, frame.rip, frame.cs, frame.rflags, frame.rsp, frame.ss, cpu.readCr2(),
    });
    serial.print("zigu:   rax=0x{x} rbx=0x{x} rcx=0x{x} rdx=0x{x} rsi=0x{x} rdi=0x{x} rbp=0x{x}\n", .{
        frame.rax, frame.rbx, frame.rcx, frame.rdx, frame.rsi, frame.rdi, frame.rbp,
    });
    serial.print("zigu:   r8=0x{x} r9=0x{x} r10=0x{x} r11=0x{x} r12=0x{x} r13=0x{x} r14=0x{x} r15=0x{x}\n", .{
        frame.r8, frame.r9, frame.r10, frame.r11, frame.r12, frame.r13, frame.r14, frame.r15,
    });
}

/// Exit status of the VM when the kernel itself fails.
pub const kernel_panic_status: u8 = 255;

pub fn panicFrame(why: []const u8, frame: *const TrapFrame) noreturn {
    serial.print("zigu: panic: {s}: {s} at rip=0x{x}\n", .{ why, vectorName(frame.vector), frame.rip });
    printFrame(frame);
    serial.print("zigu: exit {d}\n", .{kernel_panic_status});
    serial.flush();
    cpu.resetVm();
}
