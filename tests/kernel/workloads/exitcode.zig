//! Exercises the gate beyond hello: SSE arithmetic in ring 3, the clock, a refused bad pointer,
//! and a non-zero exit status.
const std = @import("std");
const zigu = @import("zigu");

pub fn main() u8 {
    var x: f64 = 1.0;
    for (0..10) |i| x = x * 1.5 + @as(f64, @floatFromInt(i));
    const t0 = zigu.nowNs();
    const t1 = zigu.nowNs();
    // The kernel's own image is no workload memory: log must refuse it, not print it or fault.
    const refused = zigu.call(.log, 0x100000, 16);
    const unmapped = zigu.call(.log, @bitCast(zigu.layout.user_base + 0x2000_0000), 16);
    zigu.print("sse {d:.3} clock_monotonic {} bad_pointer {d} {d}", .{ x, t1 >= t0, refused, unmapped });
    return 7;
}
