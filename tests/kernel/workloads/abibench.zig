//! In-guest ABI figures for `npm run bench`: the bare kernel entry (`int 0x81`, one ring-0
//! instruction), a call that does nothing (nop), clock_now as workloads make it (from the clock page)
//! and as a kernel call, how late io_poll wakes for a timer, and what 2 MiB from mem_map costs
//! (map, touch every page, unmap). Prints two `abibench:` lines.
const std = @import("std");
const zigu = @import("zigu");
const abi = zigu.abi;

const call_rounds = 2000;
const timer_rounds = 200;
const timer_delay_ns = 1_000_000;

const tsc = zigu.rdtsc;

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

/// The same, for the bare entry: `ud2`, which the kernel booted with `zigu.test=bare-entry` returns
/// from after two ring-0 instructions (kernel/arch/x86_64/cpu.zig, bareEntryOnUd). Only with
/// `zigu.arg=bare` (the launcher passes both); elsewhere ud2 ends the workload.
fn medianBareCycles() u64 {
    var samples: [call_rounds]u64 = undefined;
    for (&samples) |*s| {
        const t0 = tsc();
        asm volatile ("ud2" ::: .{ .memory = true });
        s.* = tsc() - t0;
    }
    return median(&samples);
}

/// clock_now as a workload makes it (zigu.clockNow: from the clock page while CAP_TIME is active).
fn medianClockCycles() u64 {
    var samples: [call_rounds]u64 = undefined;
    for (&samples) |*s| {
        const t0 = tsc();
        std.mem.doNotOptimizeAway(zigu.clockNow(abi.clock_monotonic) catch 0);
        s.* = tsc() - t0;
    }
    return median(&samples);
}

const map_rounds = 64;
const map_bytes: u64 = 2 << 20;

fn median(samples: []u64) u64 {
    std.mem.sort(u64, samples, {}, std.sort.asc(u64));
    return samples[samples.len / 2];
}

/// mem_map of 2 MiB, a write to each of its 4 KiB pages, mem_unmap; the first round takes memory
/// never handed out (zero already), every later one the 2 MiB page the last unmap gave back,
/// which the kernel has zeroed in ring 3 before mem_map returns.
fn memMapFigures() !void {
    var map: [map_rounds]u64 = undefined;
    var touch: [map_rounds]u64 = undefined;
    var unmap: [map_rounds]u64 = undefined;
    var first_total: u64 = 0;
    for (0..map_rounds) |i| {
        const t0 = tsc();
        const m = try zigu.memMap(map_bytes);
        const t1 = tsc();
        var page: usize = 0;
        while (page < m.len) : (page += 4096) @as(*volatile u8, &m[page]).* = 1;
        const t2 = tsc();
        try zigu.memUnmap(m);
        const t3 = tsc();
        map[i] = t1 - t0;
        touch[i] = t2 - t1;
        unmap[i] = t3 - t2;
        if (i == 0) first_total = t3 - t0;
    }
    zigu.print("abibench: mem_map_2mib map_cycles={d} touch_cycles={d} unmap_cycles={d} first_round_cycles={d}", .{
        median(&map), median(&touch), median(&unmap), first_total,
    });
}

pub fn main() u8 {
    zigu.enter(&.{ .log, .time }) catch return 3;
    const bare = if (std.mem.eql(u8, zigu.launchArg(), "bare")) medianBareCycles() else 0;
    const nop = medianCycles(.nop, 0);
    const clock = medianClockCycles();
    const clock_call = medianCycles(.clock_now, abi.clock_monotonic);

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
    zigu.print("abibench: gate={s} bare_cycles={d} nop_cycles={d} clock_now_cycles={d} clock_call_cycles={d} timer_late_us_median={d} timer_late_us_p99={d}", .{
        @tagName(zigu.gateKind()), bare, nop, clock, clock_call, late[timer_rounds / 2] / 1000, late[timer_rounds * 99 / 100] / 1000,
    });
    memMapFigures() catch return 8;
    return 0;
}
