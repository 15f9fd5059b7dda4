//! The sample workload: one line on the console, exit 0.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.print("hello from ring 3 (gate: {s})", .{@tagName(zigu.gateKind())});
    return 0;
}
