//! Never ends: the host's timeout, not the guest, must stop this VM.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.enter(&.{.log}) catch {};
    zigu.log("hanging on purpose");
    while (true) _ = zigu.nowNs();
}
