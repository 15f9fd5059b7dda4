//! The host's TSC frequency, measured against CLOCK_MONOTONIC_RAW over 200 ms: the reference the
//! guests' clocks are checked against (tests/boot/clock.test.ts). Prints Hz on one line.
//! Each end reads the clock on both sides of rdtsc and keeps the tightest of 50 tries, so a
//! descheduled moment (a loaded host) does not count.
const std = @import("std");
const linux = std.os.linux;

fn rdtsc() u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("rdtsc"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
    );
    return (@as(u64, hi) << 32) | lo;
}

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC_RAW, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

/// A (ns, tsc) pair taken as close together as 50 tries allow.
fn sample() struct { ns: u64, tsc: u64 } {
    var best_span: u64 = std.math.maxInt(u64);
    var best: struct { ns: u64, tsc: u64 } = .{ .ns = 0, .tsc = 0 };
    for (0..50) |_| {
        const a = nowNs();
        const t = rdtsc();
        const b = nowNs();
        if (b - a < best_span) {
            best_span = b - a;
            best = .{ .ns = a + (b - a) / 2, .tsc = t };
        }
    }
    return .{ .ns = best.ns, .tsc = best.tsc };
}

pub fn main() void {
    const start = sample();
    const req = linux.timespec{ .sec = 0, .nsec = 200 * std.time.ns_per_ms };
    _ = linux.nanosleep(&req, null);
    const end = sample();
    const hz = (end.tsc - start.tsc) * std.time.ns_per_s / (end.ns - start.ns);
    var buf: [32]u8 = undefined;
    const text = std.fmt.bufPrint(&buf, "{d}\n", .{hz}) catch unreachable;
    _ = linux.write(1, text.ptr, text.len);
}
