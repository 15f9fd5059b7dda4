//! In-guest ABI figures for `npm run bench`: the round trip of an ABI call (clock_now) against the
//! bare kernel entry (nop), and how late io_poll wakes for a timer. Prints one `abibench:` line.
const std = @import("std");
const zigu = @import("zigu");
const abi = zigu.abi;

const call_rounds = 2000;
const timer_rounds = 200;
const timer_delay_ns = 1_000_000;

fn tsc() u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("rdtsc"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
    );
    return (@as(u64, hi) << 32) | lo;
}

/// Median cycles of one call over `call_rounds` (ring-3 rdtsc: native even under kvm-pvm).
fn medianCycles(nr: abi.Call, a0: u64) u64 {
    var samples: [call_rounds]u64 = undefined;
    for (&samples) |*s| {
        const t0 = tsc();
        _ = zigu.raw(nr, a0, 0, 0);
        s.* = tsc() - t0;
    }
    std.mem.sort(u64, &samples, {}, std.sort.asc(u64));
    return samples[call_rounds / 2];
}

pub fn main() u8 {
    zigu.enter(&.{ .log, .time }) catch return 3;
    const nop = medianCycles(.nop, 0);
    const clock = medianCycles(.clock_now, abi.clock_monotonic);

    const t = zigu.timerCreate() catch return 4;
    zigu.register(t, abi.ev_readable, 1) catch return 5;
    var late: [timer_rounds]u64 = undefined;
    var ev: [1]zigu.Event = undefined;
    for (&late) |*l| {
        const deadline = zigu.nowNs() + timer_delay_ns;
        zigu.timerArm(t, timer_delay_ns, 0) catch return 6;
        while ((zigu.poll(&ev, abi.timeout_infinite) catch return 7).len == 0) {}
        l.* = zigu.nowNs() -| deadline;
    }
    std.mem.sort(u64, &late, {}, std.sort.asc(u64));
    zigu.print("abibench: gate={s} nop_cycles={d} clock_now_cycles={d} timer_late_us_median={d} timer_late_us_p99={d}", .{
        @tagName(zigu.gateKind()), nop, clock, late[timer_rounds / 2] / 1000, late[timer_rounds * 99 / 100] / 1000,
    });
    return 0;
}
