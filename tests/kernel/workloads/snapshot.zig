//! The snapshot start's kernel side (tests/boot/snapshot.test.ts): arms a timer, declares itself
//! ready (the launcher snapshots the VM there when it boots with zigu.snapshot=1), then reports
//! what a restored clone sees: its restore count, a kernel random word, both clocks, how late the
//! timer armed before the snapshot fired, and how late a fresh 20 ms sleep wakes (KVM resumes
//! the LAPIC one-shot from its saved count: the kernel must re-arm it). A second ready call
//! returns the same count without waiting again.
const zigu = @import("zigu");

pub fn main() u8 {
    zigu.enter(&.{ .log, .time, .random }) catch return 3;
    const t = zigu.timerCreate() catch return 4;
    zigu.register(t, zigu.abi.ev_readable, 1) catch return 5;
    const armed_at = zigu.nowNs();
    const delay_ns: u64 = 300_000_000;
    zigu.timerArm(t, delay_ns, 0) catch return 6;
    const restores = zigu.ready();
    const after_ready = zigu.nowNs();
    var word: [8]u8 = undefined;
    zigu.random(&word) catch return 7;
    const wall = zigu.clockNow(zigu.abi.clock_wall) catch 0;
    var ev: [1]zigu.Event = undefined;
    _ = zigu.poll(&ev, zigu.abi.timeout_infinite) catch return 8;
    const fired = zigu.nowNs();
    // Late past the later of its deadline and the restore (a deadline that passed while the VM
    // was a file on disk fires at once).
    const due = @max(armed_at + delay_ns, after_ready);
    const timer_late_us = (fired -| due) / 1000;
    const s0 = zigu.nowNs();
    zigu.sleepNs(20_000_000) catch return 9;
    const sleep_late_us = (zigu.nowNs() - s0 -| 20_000_000) / 1000;
    zigu.print("snapshot: restores {d} again {d} random {x} wall_ms {d} timer_late_us {d} sleep_late_us {d}", .{
        restores, zigu.ready(), @as(u64, @bitCast(word)), wall / 1_000_000, timer_late_us, sleep_late_us,
    });
    return 0;
}
