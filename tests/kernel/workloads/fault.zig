//! Touches kernel memory from ring 3: the kernel must refuse it (supervisor-only pages), report
//! the fault and stop the VM with a failure status.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.enter(&.{.log}) catch {};
    zigu.log("about to read kernel memory");
    const kernel_byte: *volatile u8 = @ptrFromInt(0x200000); // present, supervisor-only
    zigu.print("read 0x{x}: the kernel is not protected", .{kernel_byte.*});
    return 0;
}
