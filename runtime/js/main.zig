//! The JavaScript workload's entry: runs runtime.c's event loop on the script built into this
//! ELF (build.zig passes it as the anonymous import "script"). Reading the script, its arguments
//! and environment from the root image comes next (issue 14, inputs).
const zigu = @import("zigu");

comptime {
    _ = @import("ukernel_abi_guest");
}

extern fn zigu_js_main(source: [*]const u8, len: usize, filename: [*:0]const u8) callconv(.c) c_int;

const script = @embedFile("script");

pub fn main() u8 {
    return @truncate(@as(c_uint, @bitCast(zigu_js_main(script.ptr, script.len, "main.js"))));
}
