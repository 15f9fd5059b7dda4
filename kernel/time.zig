//! Monotonic clock: the TSC, calibrated against the PIT at boot (CPUID gives no TSC frequency on
//! these VMMs: leaves 0x15/0x16 are zero). ns = ticks * mult >> 32, no division on the read path
//! (the kernel has no compiler_rt, so no 128-bit division either).
const std = @import("std");
const cpu = @import("arch/x86_64/cpu.zig");

const pit_hz: u64 = 1_193_182;
/// One calibration window: 1 ms of PIT time. Each PIT read is three port accesses (VM exits).
const window_pit_ticks: u64 = pit_hz / 1000;
/// Two windows must agree within 1/this (0.5%) before their mean is taken: a vCPU descheduled in
/// the middle of one (a loaded host) loses whole 16-bit PIT wraps or reads a torn count, and a
/// single window then gave 5 MHz or 126 GHz for a 2.5 GHz TSC (seen booting 60 VMs at once, and
/// in the test suite under load, where a 30 MHz clock made the launcher's wall clock minutes off).
const agreement_divisor: u64 = 200;
/// Windows tried before giving up on agreement (then the median of all of them is used).
const max_windows = 9;
/// A PIT step this large inside one window (half the 16-bit wrap, 27 ms) may hide a lost wrap or
/// come from a torn read: the window is thrown away. Smaller steps are a descheduled vCPU, which
/// the counter measures correctly (under TCG on a loaded host every 1 ms window had one, and a
/// limit of half a window discarded them all).
const max_step_ticks: u64 = 0x8000;
/// Bound on each window's loop: a PIT that never counts must not hang the boot.
const calibration_max_reads: u32 = 1_000_000;

var tsc_at_boot: u64 = 0;

/// Called first thing in kmain: times count from here.
pub fn markBoot() void {
    tsc_at_boot = cpu.rdtsc();
}
var ns_mult: u64 = 0; // (1e9 << 32) / tsc_hz
var tsc_mult: u64 = 0; // (tsc_hz << 32) / 1e9, rounded up: ticks per ns in 32.32
pub var tsc_hz: u64 = 0;
/// Windows the last calibration needed (2 when nothing disturbed it).
pub var calibration_windows: usize = 0;

/// The PIT count, and the TSC read just before the latch command that froze it: the start and
/// the end of a window are then taken at the same point of a read, and the two slow `inb`s after
/// the latch (VM exits, longer on a loaded host) fall outside the measured span.
const PitSample = struct { count: u16, tsc: u64 };

fn pitRead() PitSample {
    const tsc = cpu.rdtsc();
    cpu.outb(0x43, 0x00); // latch channel 0
    const lo = cpu.inb(0x40);
    const hi = cpu.inb(0x40);
    return .{ .count = (@as(u16, hi) << 8) | lo, .tsc = tsc };
}

pub const Error = error{ PitNotCounting, BadTscHz };

/// One window: the TSC frequency it saw, or null when a step was implausible.
fn measureWindow() Error!?u64 {
    const first = pitRead();
    var prev = first;
    var elapsed: u64 = 0;
    var reads: u32 = 0;
    while (elapsed < window_pit_ticks) : (reads += 1) {
        if (reads == calibration_max_reads) return error.PitNotCounting;
        const now = pitRead();
        const step = prev.count -% now.count; // counts down and wraps
        if (step > max_step_ticks) return null;
        elapsed += step;
        prev = now;
    }
    return (prev.tsc - first.tsc) * pit_hz / elapsed;
}

/// The frequency from a run of window measurements: the mean of the first two consecutive ones
/// that agree within 0.5%, or, once `final`, the median of all (null: keep measuring).
pub fn pickFrequency(hz: []const u64, final: bool) ?u64 {
    var i: usize = 1;
    while (i < hz.len) : (i += 1) {
        const a = hz[i - 1];
        const b = hz[i];
        const diff = if (a > b) a - b else b - a;
        if (a > 0 and b > 0 and diff <= @max(a, b) / agreement_divisor) return a / 2 + b / 2;
    }
    if (!final) return null;
    // The median of the windows that measured anything (0: thrown away).
    var sorted: [max_windows]u64 = undefined;
    var n: usize = 0;
    for (hz) |f| if (f > 0) {
        sorted[n] = f;
        n += 1;
    };
    if (n == 0) return null;
    std.mem.sort(u64, sorted[0..n], {}, std.sort.asc(u64));
    return sorted[n / 2];
}

/// Where the TSC frequency came from.
pub const Source = enum {
    /// `zigu.tsc_hz=` on the command line (the launcher knows the host's).
    command_line,
    /// KVM's paravirtual clock: the hypervisor's own conversion of the TSC to nanoseconds.
    kvmclock,
    /// Measured against the PIT (TCG, or a hypervisor without kvmclock).
    pit,
};
pub var source: Source = .pit;

/// KVM's `pvclock_vcpu_time_info` (Documentation/virt/kvm/x86/msr.rst). The kernel is identity
/// mapped, so its address is the guest-physical address the MSR takes.
const PvclockTime = extern struct {
    version: u32,
    pad0: u32,
    tsc_timestamp: u64,
    system_time: u64,
    tsc_to_system_mul: u32,
    tsc_shift: i8,
    flags: u8,
    pad: [2]u8,
};
var pvclock: PvclockTime align(64) = undefined;

const msr_kvm_system_time_new: u32 = 0x4b564d01;
const msr_kvm_system_time: u32 = 0x12;
/// A frequency outside this is not believed (from any source).
const min_tsc_hz: u64 = 10_000_000;
const max_tsc_hz: u64 = 100_000_000_000;

/// The TSC frequency pvclock's (mul, shift) stand for: ns = (ticks << shift) * mul >> 32 (a negative
/// shift shifts right), so hz = 1e9 * 2^32 / mul / 2^shift.
pub fn hzFromPvclock(mul: u32, shift: i8) ?u64 {
    if (mul == 0 or shift < -31 or shift > 31) return null;
    const base = (@as(u64, 1_000_000_000) << 32) / mul;
    const hz = if (shift >= 0) base >> @intCast(shift) else std.math.shlExact(u64, base, @intCast(-shift)) catch return null;
    return if (hz >= min_tsc_hz and hz <= max_tsc_hz) hz else null;
}

/// The TSC frequency from KVM's paravirtual clock, where the hypervisor offers one (QEMU KVM and
/// Firecracker do, kvm-pvm included; TCG does not). The clock is switched on for one read and off again.
fn kvmClockHz() ?u64 {
    const sig = cpu.cpuid(0x4000_0000, 0);
    // "KVMKVMKVM\0\0\0"
    if (sig.ebx != 0x4b4d_564b or sig.ecx != 0x564b_4d56 or sig.edx != 0x4d) return null;
    const features = cpu.cpuid(0x4000_0001, 0).eax;
    const msr = if (features & (1 << 3) != 0) msr_kvm_system_time_new else if (features & 1 != 0) msr_kvm_system_time else return null;
    const info: *volatile PvclockTime = &pvclock;
    info.version = 0;
    cpu.wrmsr(msr, @intFromPtr(&pvclock) | 1);
    defer cpu.wrmsr(msr, 0);
    var tries: u32 = 0;
    while (tries < 1000) : (tries += 1) {
        const v1 = info.version;
        if (v1 == 0 or v1 & 1 != 0) continue; // not written yet, or being written
        const mul = info.tsc_to_system_mul;
        const shift = info.tsc_shift;
        if (info.version == v1) return hzFromPvclock(mul, shift);
    }
    return null;
}

/// The TSC frequency: `zigu.tsc_hz=` when the launcher gives it, else KVM's paravirtual clock,
/// else measured against the PIT. `given` is the command line's text, if any.
pub fn initTsc(given: ?[]const u8) Error!void {
    const tsc_start = cpu.rdtsc();
    if (given) |text| {
        const hz = std.fmt.parseInt(u64, text, 10) catch return error.BadTscHz;
        if (hz < min_tsc_hz or hz > max_tsc_hz) return error.BadTscHz;
        setHz(hz, .command_line, tsc_start);
    } else if (kvmClockHz()) |hz| {
        setHz(hz, .kvmclock, tsc_start);
    } else try calibrate();
}

fn setHz(hz: u64, from: Source, tsc_start: u64) void {
    source = from;
    calibration_windows = 0;
    tsc_hz = hz;
    ns_mult = (@as(u64, 1_000_000_000) << 32) / tsc_hz;
    tsc_mult = ticksPerNs(hz);
    if (tsc_at_boot == 0) tsc_at_boot = tsc_start;
}

/// (hz << 32) / 1e9 rounded up, in u64 arithmetic only (hz < 2^37, so hz << 32 would not fit).
fn ticksPerNs(hz: u64) u64 {
    const rest = hz % 1_000_000_000; // < 2^30: rest << 32 fits
    return ((hz / 1_000_000_000) << 32) + ((rest << 32) + 999_999_999) / 1_000_000_000;
}

pub fn calibrate() Error!void {
    cpu.outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2 (rate generator), binary
    cpu.outb(0x40, 0xFF);
    cpu.outb(0x40, 0xFF);
    const tsc_start = cpu.rdtsc();
    var hz: [max_windows]u64 = undefined;
    var n: usize = 0;
    const picked = while (n < max_windows) {
        hz[n] = (try measureWindow()) orelse 0;
        n += 1;
        if (pickFrequency(hz[0..n], n == max_windows)) |f| break f;
    } else return error.PitNotCounting; // nine windows, every one torn
    cpu.outb(0x43, 0x30); // mode 0 with a count of 1: one edge, then quiet (IRQ0 stays masked)
    cpu.outb(0x40, 0x01);
    cpu.outb(0x40, 0x00);
    if (picked == 0) return error.PitNotCounting;
    setHz(picked, .pit, tsc_start);
    calibration_windows = n;
}

test "pvclock's multiplier and shift give the TSC frequency" {
    // As KVM computes them (kvm_get_time_scale): for each frequency and shift, the multiplier
    // that turns (ticks << shift) into nanoseconds.
    for ([_]u64{ 2_445_406_000, 1_000_000_000, 3_700_000_000, 50_000_000 }) |hz| {
        for ([_]i8{ -2, -1, 0, 1 }) |shift| {
            const scaled = if (shift >= 0) hz << @intCast(shift) else hz >> @intCast(-shift);
            if (scaled <= 1_000_000_000) continue; // mul would not fit 32 bits
            const mul: u32 = @intCast((@as(u128, 1_000_000_000) << 32) / scaled);
            const got = hzFromPvclock(mul, shift).?;
            const diff = if (got > hz) got - hz else hz - got;
            try std.testing.expect(diff * 1_000_000 <= hz); // within 1 ppm
        }
    }
    try std.testing.expectEqual(@as(?u64, null), hzFromPvclock(0, 0));
    try std.testing.expectEqual(@as(?u64, null), hzFromPvclock(1, 0)); // 4.3e18 Hz
    try std.testing.expectEqual(@as(?u64, null), hzFromPvclock(0xffff_ffff, 10)); // ~1 MHz
    try std.testing.expectEqual(@as(?u64, null), hzFromPvclock(0x8000_0000, 40));
}

test "calibration takes two windows that agree, skips disturbed ones, and falls back to the median" {
    try std.testing.expectEqual(@as(?u64, null), pickFrequency(&.{2_500_000_000}, false));
    try std.testing.expectEqual(@as(?u64, 2_505_000_000), pickFrequency(&.{ 2_500_000_000, 2_510_000_000 }, false));
    try std.testing.expectEqual(@as(?u64, null), pickFrequency(&.{ 2_450_000_000, 2_476_000_000 }, false)); // 1.1% apart
    // A descheduled window (a lost wrap: far too fast; a torn read: 0) never pairs with a good one.
    try std.testing.expectEqual(@as(?u64, null), pickFrequency(&.{ 126_000_000_000, 2_500_000_000 }, false));
    try std.testing.expectEqual(@as(?u64, 2_500_000_000), pickFrequency(&.{ 126_000_000_000, 0, 2_500_000_000, 2_500_000_000 }, false));
    try std.testing.expectEqual(@as(?u64, 2_600_000_000), pickFrequency(&.{ 5_000_000, 2_600_000_000, 126_000_000_000 }, true));
    try std.testing.expectEqual(@as(?u64, 2_600_000_000), pickFrequency(&.{ 0, 0, 2_600_000_000, 0 }, true)); // thrown away: not a vote
    try std.testing.expectEqual(@as(?u64, null), pickFrequency(&.{ 0, 0, 0 }, true));
}

/// Nanoseconds since kmain began (or since calibration, if markBoot was not called).
/// What the clock page (layout.Clock) needs to compute `nowNs` in ring 3.
pub fn conversion() struct { tsc_base: u64, ns_mult: u64 } {
    return .{ .tsc_base = tsc_at_boot, .ns_mult = ns_mult };
}

/// Unix time in ns at monotonic 0, once known (no RTC read here).
pub fn epochAtBoot() ?u64 {
    return epoch_at_boot_ns;
}

pub fn nowNs() u64 {
    return tscToNs(cpu.rdtsc());
}

/// The monotonic clock at an earlier TSC reading (one taken since boot).
pub fn tscToNs(tsc: u64) u64 {
    const ticks = tsc - tsc_at_boot;
    return @truncate((@as(u128, ticks) * ns_mult) >> 32);
}

/// TSC ticks in `ns` nanoseconds (rounded up; saturating).
pub fn nsToTicks(ns: u64) u64 {
    const t = (@as(u128, ns) * tsc_mult) >> 32;
    return if (t > std.math.maxInt(u64)) std.math.maxInt(u64) else @intCast(t);
}

/// A TSC reading at which the monotonic clock (`tscToNs`) shows `ns` or later, found from an
/// earlier reading `from` (the wait's own first clock read): at most 2 ticks past the first such
/// reading, plus one per 2^32 ns (4.3 s) between the two; maxInt(u64) when out of reach (≥ 2^60 ns
/// away, 36 years, or past the counter). A wait compares raw TSC readings against it, a few
/// instructions per turn, instead of converting each reading. No u128 division (the kernel has no
/// compiler-rt): the rounded-up multiplier, then steps up by what `tscToNs` still falls short.
pub fn tscAt(ns: u64, from: u64) u64 {
    var shown = tscToNs(from);
    if (shown >= ns) return from;
    if (ns - shown >= 1 << 60) return std.math.maxInt(u64);
    var tsc = from +| nsToTicks(ns - shown);
    while (tsc != std.math.maxInt(u64)) {
        shown = tscToNs(tsc);
        if (shown >= ns) break;
        tsc +|= @max(1, nsToTicks(ns - shown));
    }
    return tsc;
}

test "tscAt is a TSC reading whose clock shows the time, a tick or two past the first" {
    const saved = .{ tsc_hz, ns_mult, tsc_mult, tsc_at_boot };
    defer {
        tsc_hz = saved[0];
        ns_mult = saved[1];
        tsc_mult = saved[2];
        tsc_at_boot = saved[3];
    }
    var prng = std.Random.DefaultPrng.init(0x7a16);
    const r = prng.random();
    for ([_]u64{ min_tsc_hz, 999_999_999, 1_000_000_000, 1_999_999_999, 2_445_406_000, 3_700_000_001, max_tsc_hz }) |hz| {
        for ([_]u64{ 0, 1 << 40, 1 << 62 }) |boot| {
            tsc_hz = hz;
            ns_mult = (@as(u64, 1_000_000_000) << 32) / hz;
            tsc_mult = ticksPerNs(hz);
            tsc_at_boot = boot;
            // Readings: at boot, after a day of uptime, at a random point the counter reaches
            // (within 2^56 ns, 2.3 years: at 100 GHz it wraps after 5.8).
            const uptimes = [_]u64{ 0, 86_400_000_000_000, r.uintLessThan(u64, 1 << 56) };
            for (uptimes) |uptime| {
                const from = boot + nsToTicks(uptime);
                const base = tscToNs(from);
                var deltas = [_]u64{ 0, 1, 7, 999_999, 1_000_000, 999_999_999, 1 << 40, (1 << 60) - 1, 0, 0, 0, 0 };
                for (deltas[8..10]) |*v| v.* = r.uintLessThan(u64, 10_000_000_000);
                for (deltas[10..]) |*v| v.* = r.uintLessThan(u64, 1 << 60);
                for (deltas) |delta| {
                    const ns = base +| delta;
                    const t = tscAt(ns, from);
                    if (t == std.math.maxInt(u64)) {
                        // Out of reach only when the counter really cannot get there (the
                        // clock unconverted to u64, which it would overflow near the end).
                        const last = std.math.maxInt(u64) - 3 - (delta >> 32);
                        try std.testing.expect((@as(u128, last -| boot) * ns_mult) >> 32 < ns);
                        continue;
                    }
                    try std.testing.expect(t >= from);
                    try std.testing.expect(tscToNs(t) >= ns);
                    // Never far past the first reading that shows it: a few ticks, or under a
                    // nanosecond's worth where a nanosecond is many ticks.
                    const slack = 3 + (delta >> 32) + hz / 1_000_000_000;
                    if (t - from > slack) try std.testing.expect(tscToNs(t - slack) < ns);
                }
                try std.testing.expectEqual(from, tscAt(base -| 5, from)); // already shown
                try std.testing.expectEqual(std.math.maxInt(u64), tscAt(base +| (1 << 60), from));
                try std.testing.expectEqual(std.math.maxInt(u64), tscAt(std.math.maxInt(u64), from));
            }
        }
    }
}

// ---- wall clock ----------------------------------------------------------------------------------

/// Unix time in ns at monotonic 0, when known.
var epoch_at_boot_ns: ?u64 = null;
pub var wall_source: []const u8 = "none";

/// Wall time from the launcher (`zigu.epoch_ns=`, its clock when it started the VM: ns precision,
/// off by the VMM's start-up) or else from the CMOS RTC (QEMU has one, Firecracker does not:
/// 1 s precision). Neither: CLOCK_WALL is ERR_UNSUPPORTED.
/// The RTC is read on the first CLOCK_WALL call, not at boot: its ~20 port accesses cost ~2 ms
/// of boot under kvm-pvm, and most workloads never ask for the wall time.
pub fn initWall(launcher_epoch_ns: ?u64) void {
    if (launcher_epoch_ns) |ns| {
        epoch_at_boot_ns = ns;
        wall_source = "launcher";
    } else {
        rtc_unread = true;
        wall_source = "rtc (read on first use)";
    }
}

var rtc_unread = false;

/// The wall clock is `epoch_now_ns` now (the launcher's clock, after a snapshot restore: the TSC
/// may have run on through the downtime, or been restored to the snapshot's value).
pub fn setWallNow(epoch_now_ns: u64) void {
    epoch_at_boot_ns = epoch_now_ns -| nowNs();
    rtc_unread = false;
    wall_source = "launcher";
}

pub fn wallNs() ?u64 {
    if (epoch_at_boot_ns == null and rtc_unread) {
        rtc_unread = false;
        if (rtcEpochSeconds()) |secs| epoch_at_boot_ns = secs * 1_000_000_000 -| nowNs();
    }
    const base = epoch_at_boot_ns orelse return null;
    return base + nowNs();
}

fn cmos(reg: u8) u8 {
    cpu.outb(0x70, reg);
    return cpu.inb(0x71);
}

const Rtc = struct { sec: u8, min: u8, hour: u8, day: u8, month: u8, year: u8 };

fn rtcRead() Rtc {
    return .{ .sec = cmos(0), .min = cmos(2), .hour = cmos(4), .day = cmos(7), .month = cmos(8), .year = cmos(9) };
}

/// Reads the RTC twice until it agrees with itself (an update may land between the reads).
fn rtcEpochSeconds() ?u64 {
    const max_tries = 5;
    var t = rtcRead();
    for (0..max_tries) |_| {
        const again = rtcRead();
        if (std.meta.eql(t, again)) break;
        t = again;
    } else return null;
    const status_b = cmos(0x0B);
    if (status_b == 0xFF) return null; // no RTC: the bus floats
    const binary = status_b & 0x04 != 0;
    const bcd = struct {
        fn dec(v: u8, is_binary: bool) ?u8 {
            if (is_binary) return v;
            if (v & 0x0F > 9 or v >> 4 > 9) return null;
            return (v >> 4) * 10 + (v & 0x0F);
        }
    };
    const twelve_hour = status_b & 0x02 == 0;
    const pm = t.hour & 0x80 != 0;
    const sec = bcd.dec(t.sec, binary) orelse return null;
    const min = bcd.dec(t.min, binary) orelse return null;
    var hour = bcd.dec(t.hour & 0x7F, binary) orelse return null;
    if (twelve_hour) hour = (hour % 12) + (if (pm) @as(u8, 12) else 0); // 12 AM is hour 0
    const day = bcd.dec(t.day, binary) orelse return null;
    const month = bcd.dec(t.month, binary) orelse return null;
    const year = @as(u64, bcd.dec(t.year, binary) orelse return null) + 2000;
    if (sec > 59 or min > 59 or hour > 23 or day < 1 or day > 31 or month < 1 or month > 12) return null;
    return daysFromCivil(year, month, day) * 86400 + @as(u64, hour) * 3600 + @as(u64, min) * 60 + sec;
}

/// Days since 1970-01-01 (Howard Hinnant's days_from_civil, for years from 2000).
pub fn daysFromCivil(year: u64, month: u8, day: u8) u64 {
    const y = if (month <= 2) year - 1 else year;
    const era = y / 400;
    const yoe = y - era * 400;
    const mp: u64 = if (month > 2) month - 3 else month + 9;
    const doy = (153 * mp + 2) / 5 + day - 1;
    const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

test "days from civil" {
    try std.testing.expectEqual(@as(u64, 10957), daysFromCivil(2000, 1, 1));
    try std.testing.expectEqual(@as(u64, 20416), daysFromCivil(2025, 11, 24));
    try std.testing.expectEqual(@as(u64, 11016), daysFromCivil(2000, 2, 29));
}
