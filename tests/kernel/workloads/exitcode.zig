//! Exercises the gate beyond hello: SSE arithmetic in ring 3, the clock, refused bad pointers,
//! and a non-zero exit status.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.enter(&.{ .log, .time }) catch return 3;
    var x: f64 = 1.0;
    for (0..10) |i| x = x * 1.5 + @as(f64, @floatFromInt(i));
    const t0 = zigu.nowNs();
    const t1 = zigu.nowNs();
    // The kernel's own image is no workload memory: log must refuse it, not print it or fault.
    const refused = zigu.raw(.log, zigu.abi.log_info, 0x100000, 16);
    const unmapped = zigu.raw(.log, zigu.abi.log_info, zigu.layout.user_base + 0x2000_0000, 16);
    zigu.print("sse {d:.3} clock_monotonic {} bad_pointer {d} {d}", .{ x, t1 >= t0, refused, unmapped });
    return 7;
}
