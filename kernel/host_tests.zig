//! `zig build test`: the kernel's pure parts, run on the host.
test {
    _ = @import("boot/bootinfo.zig");
    _ = @import("boot/cmdline.zig");
    _ = @import("workload/elf.zig");
    _ = @import("workload/tar.zig");
    _ = @import("mem/page_alloc.zig");
    _ = @import("mem/heap.zig");
    _ = @import("core/objects.zig");
    _ = @import("core/calls.zig");
    _ = @import("core/memory.zig");
    _ = @import("core/netpolicy.zig");
    _ = @import("time.zig");
}
