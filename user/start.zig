//! Entry of every Zig workload: align the stack, keep the WorkloadInfo pointer, run `main`, exit
//! with its status.
const std = @import("std");
const zigu = @import("zigu");
const app = @import("app");

comptime {
    // The guest's C functions when the workload links the network library (build.zig), else nothing.
    _ = @import("guest_c_abi");
}

pub const panic = std.debug.FullPanic(zigu.panicHandler);

export fn _start() callconv(.naked) noreturn {
    asm volatile (
        \\andq $-16, %%rsp
        \\xorl %%ebp, %%ebp
        \\call zigu_start_main
        \\ud2
    );
}

export fn zigu_start_main(info: *const zigu.layout.WorkloadInfo) callconv(.c) noreturn {
    zigu.init(info);
    zigu.exit(app.main());
}
