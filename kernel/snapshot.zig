//! Snapshot starts on Firecracker (docs/snapshots.md). With `zigu.snapshot=1` the launcher will
//! snapshot this VM at the workload's ready point: the first `ready` call prints `zigu: ready`,
//! and the CPU halts there until the VM resumes as a restored clone. Firecracker (v1.14 on) tells
//! a clone so through two devices it describes only in ACPI, which this kernel does not read:
//! - VMClock, a page at 0xDE000 (magic "VCLK", the Linux vmclock ABI) whose
//!   `vm_generation_counter` goes up by one on every restore;
//! - VMGenID, 16 bytes at 0xDFFF0, new host-random bytes on every restore;
//! each raising an edge on a GSI after the virtio-mmio devices' (5 and 6 without any). Their
//! addresses and GSIs come from Firecracker's allocator, not from its API (found and checked on
//! v1.16.1): the page's magic is checked at boot, and the wait also polls the counter, so a moved
//! GSI makes a restore seen late (`poll_ns`), never missed. After a restore the kernel stops the
//! LAPIC one-shot KVM resumed from its saved count, and takes the wall clock from the launcher's
//! `zigu.epoch_ns=N` line on COM1 (Firecracker's stdin): the TSC may have run on through the
//! downtime (seen under kvm-pvm) or been restored (plain KVM). Random bytes need nothing: the
//! kernel takes them from the CPU on every call, never from a state a clone would share.
const std = @import("std");
const serial = @import("devices/serial.zig");
const lapic = @import("devices/lapic.zig");
const ioapic = @import("devices/ioapic.zig");
const time = @import("time.zig");
const cmdline = @import("boot/cmdline.zig");

pub const vmclock_addr: u64 = 0xDE000;
pub const vmgenid_addr: u64 = 0xDFFF0;
const vmclock_magic: u32 = 0x4B4C_4356; // "VCLK"
/// The interrupt both devices are routed to.
pub const vector: u8 = 34;
/// The wait's poll of the counter, should the interrupt not come.
const poll_ns: u64 = 20_000_000;
/// How long a clone waits for the launcher's epoch line before it keeps the clock it has.
const epoch_wait_ns: u64 = 500_000_000;

/// The part of the vmclock ABI read here (include/uapi/linux/vmclock-abi.h).
const VmClock = extern struct {
    magic: u32,
    size: u32,
    version: u16,
    counter_id: u8,
    time_type: u8,
    seq_count: u32,
    disruption_marker: u64,
    flags: u64,
    /// clock_status .. time_maxerror_nanosec: time fields Firecracker leaves unset.
    time: [72]u8,
    vm_generation_counter: u64,
};

comptime {
    std.debug.assert(@offsetOf(VmClock, "seq_count") == 12);
    std.debug.assert(@offsetOf(VmClock, "vm_generation_counter") == 104);
}

pub var enabled = false;
var waited = false;
/// How often this VM has been restored since its ready point (0: it has not).
pub var restores: u64 = 0;
/// Set by the devices' interrupt (gate.zig).
pub var irq: bool = false;
/// What the last restore did, for `zigu.verbose=1`.
pub var verbose = false;

fn page() *const volatile VmClock {
    return @ptrFromInt(vmclock_addr);
}

/// The generation counter, read under the page's sequence count.
fn generation() u64 {
    const p = page();
    while (true) {
        const seq = p.seq_count;
        if (seq & 1 != 0) continue;
        const gen = p.vm_generation_counter;
        if (p.seq_count == seq) return gen;
    }
}

pub const Error = error{ NoVmClock, NoSuchPin };

/// `zigu.snapshot=1`: checks for the VMClock page and routes both devices' GSIs, the first two
/// after the highest IRQ of the virtio-mmio devices on the command line (at least 5 and 6).
pub fn init(virtio: []const cmdline.VirtioMmio) Error!void {
    if (page().magic != vmclock_magic) return error.NoVmClock;
    var last: u32 = 4;
    for (virtio) |d| last = @max(last, d.irq);
    ioapic.route(last + 1, vector) catch return error.NoSuchPin;
    ioapic.route(last + 2, vector) catch return error.NoSuchPin;
    enabled = true;
}

/// The `ready` call. Without `zigu.snapshot=1`, or after the first call: the restore count.
pub fn ready() u64 {
    if (!enabled or waited) return restores;
    waited = true;
    const before = generation();
    serial.write("zigu: ready\n");
    serial.flush();
    const irq_flag: *volatile bool = &irq;
    while (generation() == before) {
        irq_flag.* = false;
        lapic.haltFor(poll_ns, irq_flag);
    }
    restores = generation() -% before;
    afterRestore();
    return restores;
}

fn afterRestore() void {
    const t0 = time.nowNs();
    var line: [48]u8 = undefined;
    const prefix = "zigu.epoch_ns=";
    // Other lines (typed into a terminal, say) are skipped.
    const epoch: ?u64 = while (readLine(&line, t0 + epoch_wait_ns)) |text| {
        if (!std.mem.startsWith(u8, text, prefix)) continue;
        break std.fmt.parseInt(u64, text[prefix.len..], 10) catch continue;
    } else null;
    if (epoch) |ns| time.setWallNow(ns) else serial.print("zigu: restored without the launcher's zigu.epoch_ns line: the wall clock runs on from the snapshot\n", .{});
    if (verbose) {
        const id: *const volatile [16]u8 = @ptrFromInt(vmgenid_addr);
        serial.print("zigu: restored (restore {d}, vmgenid {x:0>2}{x:0>2}{x:0>2}{x:0>2}..), clock resync {d} us\n", .{ restores, id[0], id[1], id[2], id[3], (time.nowNs() - t0) / 1000 });
    }
}

/// One line from COM1 (without its newline), polled until `deadline_ns`; null if none came.
/// Longer lines are cut to `buf`, and bytes before a newline that do not fit are dropped.
fn readLine(buf: []u8, deadline_ns: u64) ?[]const u8 {
    var len: usize = 0;
    while (time.nowNs() < deadline_ns) {
        const b = serial.readByte() orelse continue;
        if (b == '\n') return buf[0..len];
        if (b == '\r') continue;
        if (len < buf.len) {
            buf[len] = b;
            len += 1;
        }
    }
    return null;
}
