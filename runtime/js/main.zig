//! The JavaScript workload's entry: runs runtime.c's event loop on the program. A packed
//! workload finds it as `main.js` in its root image (mapped read-only by the kernel; `ukernel
//! pack` writes it); otherwise the script built into this ELF (build.zig's anonymous import
//! "script") runs. The prelude (runtime/js/prelude/, bundled by the CLI: src/runtime-js.ts) is
//! built in and runs first.
const zigu = @import("zigu");
const tar = @import("tar");

comptime {
    _ = @import("ukernel_abi_guest");
}

extern fn zigu_js_main(prelude: [*]const u8, prelude_len: usize, source: [*]const u8, len: usize, filename: [*:0]const u8) callconv(.c) c_int;

const built_in = @embedFile("script");
const prelude = @embedFile("prelude");

/// A file of the root image for runtime.c (`__zigu.file`): its bytes, or null.
export fn zigu_image_file(name: [*]const u8, name_len: usize, len: *usize) callconv(.c) ?[*]const u8 {
    const image = zigu.rootImage();
    if (image.len == 0) return null;
    const file = tar.find(image, name[0..name_len]) catch return null;
    const data = file orelse return null;
    len.* = data.len;
    return data.ptr;
}

pub fn main() u8 {
    const image = zigu.rootImage();
    // The bundle compiled on the host (`ukernel build`: runtime/js/compile.c), else its source;
    // runtime/js/load.c tells them apart by the name.
    const bytecode = if (image.len > 0) tar.find(image, "main.qjbc") catch null else null;
    const program = if (image.len > 0) tar.find(image, "main.js") catch null else null;
    const source = bytecode orelse program orelse built_in;
    const name: [*:0]const u8 = if (bytecode != null) "main.qjbc" else "main.js";
    return @truncate(@as(c_uint, @bitCast(zigu_js_main(prelude.ptr, prelude.len, source.ptr, source.len, name))));
}
