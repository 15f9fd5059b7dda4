//! `zig build test`: the kernel's pure core, run on the host.
test {
    _ = @import("bootinfo.zig");
    _ = @import("cmdline.zig");
    _ = @import("elf.zig");
    _ = @import("mem/page_alloc.zig");
    _ = @import("mem/heap.zig");
    _ = @import("abi.zig");
    _ = @import("tar.zig");
    _ = @import("time.zig");
    _ = @import("calls.zig");
}
