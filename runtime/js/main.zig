//! The JavaScript workload's entry: runs runtime.c's event loop on the program. A packed
//! workload finds it as `main.js` in its root image (mapped read-only by the kernel; `ukernel
//! pack` writes it); otherwise the script built into this ELF (build.zig's anonymous import
//! "script") runs.
const zigu = @import("zigu");
const tar = @import("tar");

comptime {
    _ = @import("ukernel_abi_guest");
}

extern fn zigu_js_main(source: [*]const u8, len: usize, filename: [*:0]const u8) callconv(.c) c_int;

const built_in = @embedFile("script");

pub fn main() u8 {
    const image = zigu.rootImage();
    // The bundle compiled on the host (`ukernel build`: runtime/js/compile.c), else its source;
    // runtime/js/load.c tells them apart by the name.
    const bytecode = if (image.len > 0) tar.find(image, "main.qjbc") catch null else null;
    const program = if (image.len > 0) tar.find(image, "main.js") catch null else null;
    const source = bytecode orelse program orelse built_in;
    const name: [*:0]const u8 = if (bytecode != null) "main.qjbc" else "main.js";
    return @truncate(@as(c_uint, @bitCast(zigu_js_main(source.ptr, source.len, name))));
}
