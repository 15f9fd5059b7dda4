//! Monotonic clock: the TSC, calibrated against the PIT at boot (CPUID gives no TSC frequency on
//! these VMMs: leaves 0x15/0x16 are zero). ns = ticks * mult >> 32, no division on the read path
//! (the kernel has no compiler_rt, so no 128-bit division either).
const std = @import("std");
const cpu = @import("arch/x86_64/cpu.zig");

const pit_hz: u64 = 1_193_182;
/// Calibration window: 5 ms of PIT time. Each PIT read is three port accesses (VM exits), a few
/// microseconds apiece under KVM, so the TSC readings bracket the window to well under 1%.
const calibration_pit_ticks: u64 = pit_hz / 200;
/// Bound on the calibration loop: a PIT that never counts must not hang the boot.
const calibration_max_reads: u32 = 2_000_000;

var tsc_at_boot: u64 = 0;

/// Called first thing in kmain: times count from here.
pub fn markBoot() void {
    tsc_at_boot = cpu.rdtsc();
}
var ns_mult: u64 = 0; // (1e9 << 32) / tsc_hz
pub var tsc_hz: u64 = 0;

fn pitRead() u16 {
    cpu.outb(0x43, 0x00); // latch channel 0
    const lo = cpu.inb(0x40);
    const hi = cpu.inb(0x40);
    return (@as(u16, hi) << 8) | lo;
}

pub const Error = error{PitNotCounting};

pub fn calibrate() Error!void {
    cpu.outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2 (rate generator), binary
    cpu.outb(0x40, 0xFF);
    cpu.outb(0x40, 0xFF);
    var prev = pitRead();
    const tsc_start = cpu.rdtsc();
    var elapsed: u64 = 0;
    var reads: u32 = 0;
    while (elapsed < calibration_pit_ticks) : (reads += 1) {
        if (reads == calibration_max_reads) return error.PitNotCounting;
        const now = pitRead();
        elapsed += prev -% now; // counts down and wraps at 0x10000
        prev = now;
    }
    const tsc_end = cpu.rdtsc();
    cpu.outb(0x43, 0x30); // mode 0 with a count of 1: one edge, then quiet (IRQ0 stays masked)
    cpu.outb(0x40, 0x01);
    cpu.outb(0x40, 0x00);
    tsc_hz = (tsc_end - tsc_start) * pit_hz / elapsed;
    if (tsc_hz == 0) return error.PitNotCounting;
    ns_mult = (@as(u64, 1_000_000_000) << 32) / tsc_hz;
    if (tsc_at_boot == 0) tsc_at_boot = tsc_start;
}

/// Nanoseconds since kmain began (or since calibration, if markBoot was not called).
pub fn nowNs() u64 {
    const ticks = cpu.rdtsc() - tsc_at_boot;
    return @truncate((@as(u128, ticks) * ns_mult) >> 32);
}

/// Wall clock: not known yet on any VMM here (no RTC driver), so CLOCK_WALL is ERR_UNSUPPORTED.
pub fn wallNs() ?u64 {
    return null;
}
