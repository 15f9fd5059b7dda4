//! The kernel's side of the entry gate. Arguments arrive through either gate in the same registers
//! (rax = call, rdi, rsi, rdx, r10, r8); the result goes back in rax, negative for an error. What
//! each call does is calls.zig; this file supplies the guest platform it runs on, and is the
//! boundary where every pointer from ring 3 is checked against the page tables.
const std = @import("std");
const objects = @import("core/objects.zig");
const trap = @import("arch/x86_64/trap.zig");
const paging = @import("arch/x86_64/paging.zig");
const cpu = @import("arch/x86_64/cpu.zig");
const lapic = @import("devices/lapic.zig");
const serial = @import("devices/serial.zig");
const time = @import("time.zig");
const workload = @import("workload/loader.zig");
const mem_map = @import("workload/mem_map.zig");
const memory = @import("core/memory.zig");
const layout = @import("layout.zig");
const PageAllocator = @import("mem/page_alloc.zig").PageAllocator;
const virtio_net = @import("devices/virtio/net.zig");
const snapshot = @import("snapshot.zig");

/// The network device, when the VM has one (main.zig sets it up before the workload runs).
pub var net: ?*virtio_net.Net = null;
/// Set by the device's interrupt; ends io_poll's sleep. Cleared when the rings are next read.
var net_irq: bool = false;
pub const net_vector: u8 = 33;

/// The workload's clock page (in its info page: main.zig sets it once the workload is loaded).
pub var clock_page: ?*volatile layout.Clock = null;

/// Kernel-internal: the boot-time probe of the syscall gate; outside the probe it is no call.
pub const gate_probe_call: u64 = 0x7a69_6775;
pub var probing: bool = false;

var have_rdrand: bool = false;
/// Where mem_map takes its memory from: the kernel's page allocator.
var pages: *PageAllocator = undefined;

const Guest = struct {
    pub fn nowNs() u64 {
        return time.nowNs();
    }
    pub fn wallNs() ?u64 {
        return time.wallNs();
    }
    /// Rewrites the info page's clock block (layout.Clock) when what it shows changes.
    pub fn publishClock(time_active: bool) void {
        const page = clock_page orelse return;
        const conv = time.conversion();
        const wall: u64 = if (time_active) time.epochAtBoot() orelse 0 else 0;
        const flags: u32 = if (!time_active) 0 else layout.clock_flag_monotonic | if (time.epochAtBoot() != null) layout.clock_flag_wall else 0;
        if (page.flags == flags and page.wall_base_ns == wall and page.tsc_base == conv.tsc_base and page.ns_mult == conv.ns_mult) return;
        page.seq +%= 1; // odd: being rewritten
        page.tsc_base = conv.tsc_base;
        page.ns_mult = conv.ns_mult;
        page.wall_base_ns = wall;
        page.flags = flags;
        page.seq +%= 1;
    }
    pub fn sleepUntil(deadline_ns: u64) u64 {
        return lapic.sleepUntil(deadline_ns, &net_irq);
    }
    /// When the running call entered the kernel (entry.S stamps it after saving the registers).
    pub fn callStartNs() u64 {
        return time.tscToNs(gate_call_tsc);
    }
    /// io_poll returns: gateKernelCall holds the return until the clock shows `until_ns` (0: not
    /// at all) and stamps the hold, for `Calls.pollReturned` at the next entry.
    pub fn holdReturn(until_ns: u64) void {
        hold_until_tsc = if (until_ns == 0) 0 else time.tscAt(until_ns, gate_call_tsc);
        hold_pending = true;
    }
    /// The virtio-net device (main.zig sets `net` up before the workload runs).
    pub const nic = struct {
        pub fn present() bool {
            return net != null;
        }
        pub fn mac() [6]u8 {
            return net.?.mac;
        }
        pub fn tscHz() u64 {
            return time.tsc_hz;
        }
        /// Clears the interrupt flag before looking at the rings: an interrupt after the look
        /// sets it again, and the sleep that follows ends at once.
        pub fn readiness() u32 {
            const d = net orelse return 0;
            @as(*volatile bool, &net_irq).* = false;
            return (if (d.readable()) objects.numbers.ev_readable else 0) | (if (d.writable()) objects.numbers.ev_writable else 0);
        }
        pub fn txBuffer() ?[]u8 {
            return net.?.txBuffer();
        }
        pub fn txSubmit(len: usize) void {
            net.?.txSubmit(len);
        }
        pub fn txFlush() void {
            net.?.txFlush();
        }
        pub fn rxPeek() ?[]const u8 {
            return net.?.rxPeek();
        }
        pub fn rxRelease() void {
            net.?.rxRelease();
        }
        pub fn rxFlush() void {
            net.?.rxFlush();
        }
    };
    /// The guest's network library folds its sockets into io_poll in ring 3: nothing here.
    pub fn libraryEvents(_: []objects.numbers.Event) usize {
        return 0;
    }
    pub fn libraryWaiting() bool {
        return false;
    }
    pub fn consoleWrite(bytes: []const u8) void {
        serial.write(bytes);
    }
    pub fn randomWord() ?u64 {
        return if (have_rdrand) cpu.rdrand() else null;
    }
    pub fn ready() u64 {
        return snapshot.ready();
    }
    pub fn notice(line: []const u8) void {
        serial.write(line);
    }
    /// The pointer checker: the page tables say ring 3 may touch (or write) all of the range.
    pub inline fn userRangeOk(ptr: u64, len: u64, write: bool) bool {
        return paging.userRangeOk(ptr, len, write);
    }
    pub fn copyFromUser(addr: u64, dst: []u8) void {
        paging.copyFromUser(addr, dst);
    }
    pub fn copyToUser(addr: u64, src: []const u8) void {
        paging.copyToUser(addr, src);
    }
    pub fn exit(status: u8) noreturn {
        workload.resumeKernel((workload.Outcome{ .exited = status }).encode());
    }
    pub fn memMap(mappings: *const memory.Mappings, len: u64) ?memory.Mapped {
        return mem_map.map(pages, mappings, len);
    }
    pub fn memUnmap(addr: u64, len: u64) void {
        mem_map.unmap(pages, addr, len);
    }
    pub const tasks_supported = true;
    pub fn callerCode(addr: u64) bool {
        return paging.userExecutable(addr);
    }
    /// A new task's registers: at `entry` with `arg` in rdi, on its own stack as if just called
    /// (rsp 8 below a 16-byte boundary, a null return address: returning faults, tasks end with
    /// task_exit).
    pub fn startTask(index: u16, entry: u64, arg: u64, stack: u64, stack_len: u64) void {
        const top = std.mem.alignBackward(u64, stack + stack_len, 16) - 8;
        paging.copyToUser(top, &std.mem.toBytes(@as(u64, 0)));
        frames[index] = std.mem.zeroes(trap.TrapFrame);
        frames[index].rip = entry;
        frames[index].rsp = top;
        frames[index].rdi = arg;
        frames[index].cs = cpu.user_cs;
        frames[index].ss = cpu.user_ds;
        frames[index].rflags = 0x202;
    }
};

const calls = @import("core/calls.zig");
const Calls = calls.Calls(Guest);

/// Where the capability policy came from, for the refusal notes (main.zig, before the workload runs).
pub fn setPolicyOrigin(origin: enum { image, command_line }) void {
    Calls.policy_origin = switch (origin) {
        .image => .{ .name = "the image's policy (ukernel.toml)", .fix = "[capabilities] allow in ukernel.toml" },
        .command_line => .{ .name = "zigu.caps=", .fix = "zigu.caps= (npm run boot -- --caps)" },
    };
}

/// The network policy the frames are checked against (main.zig, before the workload runs).
pub fn setNetPolicy(p: calls.netpolicy.Policy) void {
    Calls.net_policy = p;
}

pub fn netCounters() calls.netpolicy.Counters {
    return Calls.net_counters;
}

/// Each task's registers while it does not run. Tasks switch only inside a call, at the gate's
/// function-call boundary, where the SysV ABI leaves no SSE register live: saving the trap frame
/// is the whole switch.
var frames: [objects.max_tasks]trap.TrapFrame = undefined;
/// Bytes of the instruction that entered the kernel, which a restarted call backs rip over: taken
/// from the frame, not from the gate chosen at boot, since ring 3 may use either instruction.
fn entryInstructionBytes(frame: *const trap.TrapFrame) u64 {
    return if (frame.vector == trap.syscall_vector) 2 else 1; // 0f 05 | cc
}
/// Exit status of a workload whose every task waits for another.
pub const deadlock_status: u8 = 125;

/// `mem_limit_bytes`: the most the workload may hold through mem_map (memory.unlimited: what the
/// page allocator has).
pub fn init(policy: u64, mem_limit_bytes: u64, page_allocator: *PageAllocator) void {
    Calls.init(policy);
    Calls.limitMemory(mem_limit_bytes);
    Calls.mappings.addWindow(layout.user_map_base);
    Calls.mappings.addWindow(layout.user_map_large_base);
    pages = page_allocator;
    have_rdrand = cpu.hasRdrand();
}

/// Sends the return of a call through the info page's zeroing stub (entry.S, user_zero_start),
/// which zeroes `zero` in ring 3 and then returns to the caller with the call's result. The
/// workload runs none of its own code before the stub is done: whichever instruction it entered
/// by, the kernel picks where it resumes, and nothing preempts ring 3.
fn zeroOnReturn(frame: *trap.TrapFrame, zero: memory.Region) void {
    // Inside the mem_map window (a page walk per 4 KiB here would cost more than the zeroing).
    std.debug.assert(zero.addr % 8 == 0 and zero.len % 8 == 0 and zero.addr >= layout.user_map_base and
        zero.len <= layout.user_map_end - zero.addr);
    frame.r8 = frame.rip;
    frame.rsi = frame.rax;
    frame.rdi = zero.addr;
    frame.rdx = zero.len / 8;
    frame.rip = layout.user_info_addr + layout.user_zero_offset;
}

/// Kernel calls made by the workload (printed with the network counters at exit: the network
/// benchmark divides them by the requests served).
pub var entries: u64 = 0;

/// `zigu.profile=calls`: TSC cycles spent in each call (the first 64 numbers), printed at exit.
/// Off by default: a `rdtsc` pair in ring 0 costs 12-17k cycles under kvm-pvm.
pub var profile = false;
pub var profile_cycles: [64]u64 = @splat(0);
pub var profile_counts: [64]u64 = @splat(0);

/// The TSC when the running call entered, and when the last one returned: entry.S's STAMP_CALL
/// and STAMP_RETURN write them on both gates (a ring-0 `rdtsc` costs ~3 µs under kvm-pvm).
export var gate_call_tsc: u64 = 0;
export var gate_return_tsc: u64 = 0;

/// Both gates' way in: entry.S calls this straight from the trap gate's own entry (vector 3 from
/// ring 3) and from syscall_entry, not through trapDispatch, and everything down to the call's
/// own function is inlined here: every ring-0 instruction is emulated under kvm-pvm (~0.6 µs
/// each): a nop call ran 93 of them from the gate to `iretq` (158 through trapDispatch, counted
/// single-stepping under TCG), and cost 6x the bare entry under kvm-pvm where it cost 10-11x;
/// the two TSC stamps and the hold's check have added 8 since.
export fn gateKernelCall(frame: *trap.TrapFrame) callconv(.c) void {
    // entry.S loads the kernel's rflags first: a direction or alignment-check flag seen here
    // means an entry path skipped it, and every string copy would run wrong.
    if (cpu.readFlags() & (cpu.rflags_df | cpu.rflags_ac) != 0) trap.panicFrame("entered with the caller's rflags", frame);
    // The first entry after an io_poll returned: how long that return took (its timer lead).
    if (Calls.poll_return_pending) @call(.never_inline, pollReturned, .{});
    dispatch(frame);
    if (hold_pending) @call(.never_inline, hold, .{});
}

/// io_poll's hold (Guest.holdReturn): the TSC to spin to (0: none), and the first and last
/// readings of the spin. It runs last before the registers are restored, so that only the
/// tail of the return (the restores; timed by STAMP_RETURN) lies between it and ring 3.
var hold_pending: bool = false;
var hold_until_tsc: u64 = 0;
var hold_first_tsc: u64 = 0;
var hold_last_tsc: u64 = 0;

fn hold() void {
    hold_pending = false;
    const first = cpu.rdtsc();
    var tsc = first;
    // No `pause`: under kvm-pvm it exits to the host, which may not run the vCPU again until
    // its next tick.
    while (tsc < hold_until_tsc) tsc = cpu.rdtsc();
    hold_first_tsc = first;
    hold_last_tsc = tsc;
}

fn pollReturned() void {
    Calls.pollReturned(time.tscToNs(hold_first_tsc), time.tscToNs(hold_last_tsc), time.tscToNs(gate_return_tsc));
}

inline fn dispatch(frame: *trap.TrapFrame) void {
    entries +%= 1;
    if (profile) return @call(.never_inline, dispatchProfiled, .{frame});
    dispatchCall(frame);
}

fn dispatchProfiled(frame: *trap.TrapFrame) void {
    const nr = frame.rax;
    const t0 = cpu.rdtsc();
    dispatchCall(frame);
    if (nr < profile_cycles.len) {
        profile_cycles[nr] += cpu.rdtsc() - t0;
        profile_counts[nr] += 1;
    }
}

inline fn dispatchCall(frame: *trap.TrapFrame) void {
    if (probing and frame.rax == gate_probe_call) workload.resumeKernel((workload.Outcome{ .probe = true }).encode());
    const r = Calls.call(frame.rax, frame.rdi, frame.rsi, frame.rdx, frame.r10);
    if (r.action == .none) {
        frame.rax = @bitCast(r.value);
        if (r.zero.len > 0) zeroOnReturn(frame, r.zero);
        return;
    }
    @call(.never_inline, otherTask, .{ frame, r });
}

/// The call's task stops or waits: save its frame, run the next one (or end on a deadlock).
fn otherTask(frame: *trap.TrapFrame, r: calls.Result) void {
    const running = Calls.core.current;
    switch (r.action) {
        .none => unreachable,
        .switch_after => {
            frame.rax = @bitCast(r.value);
            frames[running] = frame.*;
        },
        .restart => { // rax still holds the call number: the same call runs again
            frame.rip -= entryInstructionBytes(frame);
            frames[running] = frame.*;
        },
        .ended => {},
    }
    const next = Calls.schedule() orelse {
        serial.print("zigu: every task waits for another: deadlock\n", .{});
        workload.resumeKernel((workload.Outcome{ .exited = deadlock_status }).encode());
    };
    Calls.core.current = next;
    frame.* = frames[next];
}

/// A fault in ring 3 ends the workload (during the gate probe it only answers the probe): all of
/// its memory is mapped before it runs, so no fault is ever mended.
pub fn userFault(frame: *trap.TrapFrame) void {
    if (probing) workload.resumeKernel((workload.Outcome{ .probe = false }).encode());
    serial.print("zigu: workload fault: {s}\n", .{trap.vectorName(frame.vector)});
    trap.printFrame(frame);
    workload.resumeKernel((workload.Outcome{ .faulted = @truncate(frame.vector) }).encode());
}

pub var interrupts: u64 = 0;

pub fn interrupt(vector: u64) void {
    interrupts += 1;
    if (vector == net_vector) {
        if (net) |d| d.ack();
        @as(*volatile bool, &net_irq).* = true;
    } else if (vector == snapshot.vector) {
        @as(*volatile bool, &snapshot.irq).* = true;
    } else if (vector == lapic.timer_vector) {
        @as(*volatile bool, &lapic.fired).* = true;
    }
    lapic.eoi();
}
