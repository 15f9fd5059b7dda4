//! The local APIC timer (xAPIC MMIO at 0xFEE00000, inside the identity map): one-shot wake-ups for
//! io_poll. Behaves the same on QEMU KVM, QEMU TCG and Firecracker; calibrated against the TSC.
const std = @import("std");
const time = @import("../time.zig");
const cpu = @import("../arch/x86_64/cpu.zig");

const base: u64 = 0xFEE0_0000;
const reg_eoi = 0xB0;
const reg_svr = 0xF0;
const reg_lvt_timer = 0x320;
const reg_initial_count = 0x380;
const reg_current_count = 0x390;
const reg_divide = 0x3E0;

pub const timer_vector: u8 = 32;
pub const spurious_vector: u8 = 0xFF;
const lvt_masked: u32 = 1 << 16;
/// Calibration window against the (already calibrated) TSC clock.
const calibration_ns: u64 = 1_000_000;
/// One halt is at most this long; a longer wait re-arms (keeps tick counts within 32 bits).
const max_sleep_ns: u64 = 1_000_000_000;

var ticks_per_ms: u64 = 0;

fn write(reg: u64, value: u32) void {
    @as(*volatile u32, @ptrFromInt(base + reg)).* = value;
}

fn read(reg: u64) u32 {
    return @as(*volatile u32, @ptrFromInt(base + reg)).*;
}

pub const Error = error{LapicTimerNotCounting};

pub fn init() Error!void {
    write(reg_svr, 0x100 | @as(u32, spurious_vector)); // APIC software enable
    write(reg_divide, 0x3); // divide by 16
    write(reg_lvt_timer, lvt_masked | @as(u32, timer_vector));
    write(reg_initial_count, 0xFFFF_FFFF);
    const start = time.nowNs();
    while (time.nowNs() - start < calibration_ns) {}
    const elapsed_ticks: u64 = 0xFFFF_FFFF - read(reg_current_count);
    const elapsed_ns = time.nowNs() - start;
    write(reg_initial_count, 0);
    ticks_per_ms = elapsed_ticks * 1_000_000 / elapsed_ns;
    if (ticks_per_ms == 0) return error.LapicTimerNotCounting;
    max_spin = time.nsToTicks(max_spin_ns);
    max_sleep = time.nsToTicks(max_sleep_ns);
    // A 1 ms window counted at most 2^32 ticks (the count register's width); the TSC runs at
    // ≥ 10 MHz, so the divisor is ≥ 10^4.
    ticks_per_tsc = (@as(u64, @min(ticks_per_ms, 0xFFFF_FFFF)) << 32) / time.nsToTicks(1_000_000);
    write(reg_lvt_timer, timer_vector); // one-shot, unmasked
}

pub fn eoi() void {
    write(reg_eoi, 0);
}

/// How late a halted CPU wakes after its one-shot fires, as seen so far, in TSC ticks: the peak,
/// decaying by 1/16 per wake. Under nested kvm-pvm the host delivers the timer on its own tick
/// (wake-ups came up to ~4 ms late); under TCG or plain KVM it stays near zero.
var wake_overshoot: u64 = 0;
/// The last halt's wake-up, folded into `wake_overshoot` when the next halt is due (or the next
/// sleep begins), not between the wake-up and the deadline: under kvm-pvm each ring-0 instruction
/// there costs ~1 µs, and the estimate's arithmetic made the sleep end past its deadline.
var last_wake: struct { expected: u64 = 0, woke: u64 = 0, pending: bool = false } = .{};
/// Never spin longer than this, whatever the estimate: past it, lateness is the lesser evil.
const max_spin_ns: u64 = 5_000_000;
/// `max_spin_ns` and `max_sleep_ns` in TSC ticks (init).
var max_spin: u64 = 0;
var max_sleep: u64 = 0;
/// LAPIC timer ticks per TSC tick, 32.32 fixed point.
var ticks_per_tsc: u64 = 0;

fn foldWake() void {
    if (!last_wake.pending) return;
    last_wake.pending = false;
    const overshoot = @min(last_wake.woke -| last_wake.expected, max_spin);
    wake_overshoot = @max(wake_overshoot - wake_overshoot / 16, overshoot);
}

/// Waits until the monotonic clock reaches `deadline_ns`: halts until the wake-up overshoot
/// before it, then spins the rest. Interrupts are off on entry and exit; `sti; hlt` cannot lose
/// the wake-up (the interrupt shadow of sti covers hlt). Returns early once `wake` is set (by a
/// device's interrupt handler). Returns the clock as it last read it, so that the caller need not
/// read it again. The wait runs on raw TSC readings against the deadline converted once, before
/// any halt: between a wake-up and the spin only a compare or two run (each ring-0 instruction
/// is emulated under kvm-pvm, ~1 µs), and the spin is `rdtsc` and a compare.
pub fn sleepUntil(deadline_ns: u64, wake: *volatile bool) u64 {
    std.debug.assert(ticks_per_ms > 0);
    foldWake();
    var tsc = cpu.rdtsc();
    const deadline = time.tscAt(deadline_ns, tsc);
    var margin = wake_overshoot;
    // Whether the one-shot may still be counting at the end: stopping it is an MMIO write (an
    // exit to the hypervisor) that would land between the deadline and the wake-up's return, so
    // it is left out when the sleep never armed it (a short sleep spun all the way) or it fired.
    var armed = false;
    while (!wake.* and tsc < deadline) {
        if (deadline - tsc <= margin) {
            // No `pause` here: under kvm-pvm it exits to the host, which may not run the vCPU
            // again until its next tick (4 ms).
            while (tsc < deadline and !wake.*) tsc = cpu.rdtsc();
            break;
        }
        // Another halt: the last one's wake-up counts now (this is not on the way out).
        if (last_wake.pending) {
            foldWake();
            margin = wake_overshoot;
            if (deadline - tsc <= margin) continue;
        }
        const wait = @min(deadline - margin - tsc, max_sleep);
        const ticks = @max(1, (@as(u128, wait) * ticks_per_tsc) >> 32);
        @as(*volatile bool, &fired).* = false;
        write(reg_initial_count, @intCast(@min(ticks, 0xFFFF_FFFF)));
        armed = true;
        asm volatile ("sti; hlt; cli" ::: .{ .memory = true });
        const woke = cpu.rdtsc();
        last_wake = .{ .expected = tsc + wait, .woke = woke, .pending = true };
        tsc = woke;
    }
    if (armed and !@as(*volatile bool, &fired).*) write(reg_initial_count, 0);
    return time.tscToNs(tsc);
}

/// Set by the timer's interrupt (gate.interrupt): the one-shot has run out. A stale interrupt
/// (one that fired while interrupts were off) can set it for a later one-shot, which then runs
/// out unstopped: its interrupt only wakes a later halt early, and every sleep checks the clock.
pub var fired: bool = false;

/// Halts until an interrupt sets `wake` or about `max_ns` pass, whichever comes first, and leaves
/// the one-shot stopped. After a snapshot restore KVM resumes the one-shot from the count it had
/// when saved, not from any deadline of the kernel's: writing the initial count here (and in
/// every sleepUntil) is what re-arms it.
pub fn haltFor(max_ns: u64, wake: *volatile bool) void {
    std.debug.assert(ticks_per_ms > 0);
    if (!wake.*) {
        const ticks = @max(1, @min(max_ns, max_sleep_ns) * ticks_per_ms / 1_000_000);
        write(reg_initial_count, @intCast(@min(ticks, 0xFFFF_FFFF)));
        asm volatile ("sti; hlt; cli" ::: .{ .memory = true });
    }
    write(reg_initial_count, 0);
}
