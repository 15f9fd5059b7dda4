//! Idle: says it is ready, then waits for ever in io_poll on a timer an hour away, as a server with
//! nothing to do would. The kernel halts the vCPU meanwhile (lapic.sleepUntil: `sti; hlt`, with the
//! one-shot timer bounding each halt), so an idle VM costs the host no CPU: the density benchmark
//! (bench/density.ts) counts on it. The host's timeout, or a kill, ends it.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.enter(&.{ .log, .time }) catch return 3;
    const t = zigu.timerCreate() catch return 4;
    zigu.register(t, zigu.abi.ev_readable, 1) catch return 5;
    _ = zigu.ready(); // a snapshot start resumes here (bench/density.ts)
    zigu.log("idle: ready");
    var ev: [1]zigu.Event = undefined;
    while (true) {
        zigu.timerArm(t, 3600 * 1_000_000_000, 0) catch return 6;
        _ = zigu.poll(&ev, zigu.abi.timeout_infinite) catch return 7;
    }
}
