//! The sample workload: takes the one capability it needs, declares itself ready (a snapshot start,
//! `ukernel run --snapshot`, resumes there; without one the call returns at once), logs one line,
//! exits 0.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.enter(&.{.log}) catch return 3; // the policy does not allow logging
    _ = zigu.ready();
    zigu.print("hello from ring 3 (gate: {s})", .{@tagName(zigu.gateKind())});
    return 0;
}
