//! Runs a C workload's `int main(void)` (built into this workload by build.zig) as a Zig workload's
//! main, with the C functions of include/ukernel_abi.h provided through the gate.
const c_main = @extern(*const fn () callconv(.c) c_int, .{ .name = "main" });

comptime {
    _ = @import("ukernel_abi_guest");
}

pub fn main() u8 {
    return @truncate(@as(c_uint, @bitCast(c_main())));
}
