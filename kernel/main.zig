//! Entry after boot (boot.S): init order, workload choice, gate choice, launch, exit status.
const std = @import("std");
const layout = @import("layout.zig");
const serial = @import("devices/serial.zig");
const cpu = @import("arch/x86_64/cpu.zig");
const trap = @import("arch/x86_64/trap.zig");
const bootinfo = @import("boot/bootinfo.zig");
const cmdline = @import("boot/cmdline.zig");
const time = @import("time.zig");
const workload = @import("workload/loader.zig");
const paging = @import("arch/x86_64/paging.zig");
const lapic = @import("devices/lapic.zig");
const objects = @import("core/objects.zig");
const memory = @import("core/memory.zig");
const tar = @import("workload/tar.zig");
const virtio_mmio = @import("devices/virtio/mmio.zig");
const virtio_blk = @import("devices/virtio/blk.zig");
const virtio_net = @import("devices/virtio/net.zig");
const ioapic = @import("devices/ioapic.zig");
const netpolicy = @import("core/netpolicy.zig");
const gate = @import("gate.zig");
const snapshot = @import("snapshot.zig");
const PageAllocator = @import("mem/page_alloc.zig").PageAllocator;
const page_alloc = @import("mem/page_alloc.zig");
const Heap = @import("mem/heap.zig").Heap;

comptime {
    _ = @import("arch/x86_64/string.zig");
}

pub const version = "0.1.0";

/// Pages taken at init for the kernel heap (1 MiB).
const heap_pages: u64 = 256;

/// Workloads built into the image by build.zig (each embedded as "workload_<name>").
const builtin_workloads = @import("build_options").workloads;
const builtin_list = blk: {
    var list: []const u8 = "";
    for (builtin_workloads, 0..) |name, i| list = list ++ (if (i == 0) "" else ", ") ++ name;
    break :blk list;
};

extern const __kernel_start: u8;
extern const __kernel_end: u8;

var boot: bootinfo.BootInfo = undefined;
/// The command line, split into words once (cmdline.Args).
var command_line: cmdline.Args = .{};
/// The virtio-mmio devices it lists (container-level, not a 0xAA-filled local: see cmdline.Args).
var virtio_devices: [cmdline.max_virtio_devices]cmdline.VirtioMmio = undefined;
/// `zigu.verbose=1` on the command line: the boot's details, several lines. Without it the boot
/// prints one short line (every console byte is a VM exit, ~20 µs each under kvm-pvm).
var verbose = false;

/// The boot's phases (rdtsc at the end of each), printed with `zigu.verbose=1` or `zigu.profile=boot`
/// (which leaves out the verbose lines, whose console bytes would be counted in the phases).
const Phase = struct { name: []const u8, tsc: u64 };
var phases: [16]Phase = undefined;
var phase_count: usize = 0;
var phase_start: u64 = 0;

fn phase(name: []const u8) void {
    if (phase_count == phases.len) return;
    phases[phase_count] = .{ .name = name, .tsc = cpu.rdtsc() };
    phase_count += 1;
}

/// Whether the comma list `list` has `item`.
fn listHas(list: []const u8, item: []const u8) bool {
    var it = std.mem.splitScalar(u8, list, ',');
    while (it.next()) |x| if (std.mem.eql(u8, x, item)) return true;
    return false;
}

fn printPhases() void {
    serial.print("zigu: boot phases (us):", .{});
    var prev = phase_start;
    for (phases[0..phase_count]) |p| {
        serial.print(" {s} {d}", .{ p.name, (p.tsc - prev) * 1_000_000 / time.tsc_hz });
        prev = p.tsc;
    }
    serial.print("\n", .{});
}
var pages: PageAllocator = undefined;
var heap: Heap = undefined;

pub const panic = std.debug.FullPanic(kernelPanic);

fn kernelPanic(msg: []const u8, first_trace_addr: ?usize) noreturn {
    serial.print("zigu: panic: {s} (at 0x{x})\n", .{ msg, first_trace_addr orelse @returnAddress() });
    serial.print("zigu: exit {d}\n", .{trap.kernel_panic_status});
    serial.flush();
    cpu.resetVm();
}

fn fail(comptime fmt: []const u8, args: anytype) noreturn {
    var buf: [256]u8 = undefined;
    kernelPanic(std.fmt.bufPrint(&buf, fmt, args) catch fmt, null);
}

fn readBootInfo(protocol: u32, info_paddr: u64) void {
    // The identity map, from the first page up (page 0 stays out of reach: a null pointer).
    const low: [*]const u8 = @ptrFromInt(layout.page_size);
    const phys = bootinfo.Phys{ .base = layout.page_size, .mem = low[0 .. layout.identity_map_end - layout.page_size] };
    (switch (protocol) {
        @intFromEnum(bootinfo.Protocol.pvh) => bootinfo.fromPvh(&boot, phys, info_paddr),
        @intFromEnum(bootinfo.Protocol.linux) => bootinfo.fromLinuxZeroPage(&boot, phys, info_paddr),
        else => fail("unknown boot protocol {d}", .{protocol}),
    }) catch |err| fail("bad boot information ({s}) at 0x{x}", .{ @errorName(err), info_paddr });
}

fn initMemory() void {
    var usable: [bootinfo.max_regions]page_alloc.Range = undefined;
    var usable_count: usize = 0;
    for (boot.memoryMap()) |r| {
        if (r.kind != .usable) continue;
        usable[usable_count] = .{ .start = r.base, .end = r.base + r.len };
        usable_count += 1;
    }
    var reserved: [page_alloc.max_reserved]page_alloc.Range = undefined;
    reserved[0] = .{ .start = @intFromPtr(&__kernel_start), .end = @intFromPtr(&__kernel_end) };
    var reserved_count: usize = 1;
    for (boot.moduleList()) |m| {
        reserved[reserved_count] = .{ .start = m.base, .end = m.base + m.len };
        reserved_count += 1;
    }
    pages = PageAllocator.init(usable[0..usable_count], reserved[0..reserved_count], layout.phys_alloc_min, layout.identity_map_end, 0) catch |err|
        fail("memory map: {s}", .{@errorName(err)});
    const heap_base = pages.allocContiguous(heap_pages) orelse fail("no room for a {d}-page kernel heap", .{heap_pages});
    const heap_mem: [*]align(16) u8 = @ptrFromInt(heap_base);
    heap = Heap.init(heap_mem[0 .. heap_pages * layout.page_size]);
}

const Workload = struct {
    elf: []const u8,
    /// The root image it came from, mapped read-only into the workload for its other files.
    root_image: ?[]const u8 = null,
    /// Capability kinds the workload may acquire, as names ("log,time").
    policy: []const u8,
    /// The most it may hold through mem_map, in MiB as text; null: what the RAM allows.
    memory_limit_mib: ?[]const u8 = null,
    /// The image's whole policy file (its `net.*` lines are the network policy); null: the
    /// network policy comes from `zigu.net.*=` on the command line.
    policy_file: ?[]const u8 = null,
    source: []const u8,
};

/// Largest policy file in a root image.
const max_policy_bytes: usize = 4096;


/// The workload and its policy: from the root image on the first virtio-blk device
/// (`zigu.workload=disk`, what `ukernel pack` makes: the image carries the policy), from the
/// initrd, or built in; for the last two the policy is `zigu.caps=` on the command line.
fn chooseWorkload() Workload {
    const name = command_line.get("zigu.workload") orelse "hello";
    const caps = command_line.get("zigu.caps") orelse "";
    const limit = command_line.get("zigu.memory_limit_mib");
    if (std.mem.eql(u8, name, "disk")) {
        const image = readRootImage();
        const elf = tar.find(image, "workload.elf") catch |err| fail("root image: {s}", .{@errorName(err)}) orelse
            fail("root image: no workload.elf", .{});
        const policy = tar.find(image, "policy") catch |err| fail("root image: {s}", .{@errorName(err)}) orelse
            fail("root image: no policy file", .{});
        // A policy is a few capability names; the kernel prints it, byte by byte over the
        // emulated serial port, and a 1 MiB one took minutes under kvm-pvm.
        if (policy.len > max_policy_bytes) fail("root image: policy file of {d} bytes (at most {d})", .{ policy.len, max_policy_bytes });
        if (command_line.get("zigu.caps") != null) serial.print("zigu: zigu.caps= ignored: the root image carries the policy\n", .{});
        if (limit != null) serial.print("zigu: zigu.memory_limit_mib= ignored: the root image carries the policy\n", .{});
        const file = objects.splitPolicyFile(policy) catch |err| fail("root image: policy file: {s} (the first line names capabilities; then only memory_limit_mib=N)", .{@errorName(err)});
        return .{ .elf = elf, .root_image = image, .policy = file.names, .memory_limit_mib = file.memory_limit_mib, .policy_file = policy, .source = "root image" };
    }
    if (std.mem.eql(u8, name, "initrd")) {
        const mods = boot.moduleList();
        if (mods.len == 0) fail("zigu.workload=initrd but the VMM passed no initrd", .{});
        const base: [*]const u8 = @ptrFromInt(mods[0].base);
        return .{ .elf = base[0..mods[0].len], .policy = caps, .memory_limit_mib = limit, .source = "initrd" };
    }
    inline for (builtin_workloads) |builtin_name| {
        if (std.mem.eql(u8, builtin_name, name)) return .{ .elf = @embedFile("workload_" ++ builtin_name), .policy = caps, .memory_limit_mib = limit, .source = "built in" };
    }
    fail("no workload named '{s}' (built in: {s}; or initrd, disk)", .{ name, builtin_list });
}

/// The whole of the first virtio-blk device listed on the command line, read into memory.
fn readRootImage() []const u8 {
    const list = command_line.virtioDevices(&virtio_devices) catch |err| fail("command line: {s}", .{@errorName(err)});
    for (list) |d| {
        const dev = virtio_mmio.probe(d.base) catch |err| fail("virtio-mmio at 0x{x}: {s}", .{ d.base, @errorName(err) });
        if (dev.device_id != virtio_mmio.device_block) continue;
        var blk = virtio_blk.Blk.init(dev, &pages) catch |err| fail("virtio-blk at 0x{x}: {s}", .{ d.base, @errorName(err) });
        const size = blk.sizeBytes();
        if (size == 0 or size > layout.max_root_image_bytes) fail("root image of {d} bytes (at most {d})", .{ size, layout.max_root_image_bytes });
        const base = pages.allocContiguous(std.mem.alignForward(u64, size, layout.page_size) / layout.page_size) orelse
            fail("no room for a {d}-byte root image", .{size});
        const out: [*]u8 = @ptrFromInt(base);
        blk.read(0, out[0..size]) catch |err| fail("reading the root image: {s}", .{@errorName(err)});
        return out[0..size];
    }
    fail("zigu.workload=disk but no virtio-blk device on the command line (virtio_mmio.device=)", .{});
}

var net_device: virtio_net.Net = undefined;

/// The network policy (the image's `net.*` lines, or `zigu.net.*=` on the command line), and the
/// first virtio-net device, its interrupt routed to the gate's vector. No device: none.
fn initNet(chosen: *const Workload, virtio: []const cmdline.VirtioMmio) void {
    var policy = netpolicy.Policy{};
    const keys = [_][]const u8{ "address", "gateway", "dns", "listen", "connect" };
    if (chosen.policy_file) |file| {
        var lines = std.mem.splitScalar(u8, file, '\n');
        while (lines.next()) |raw| {
            const l = std.mem.trim(u8, raw, " \t\r");
            if (!std.mem.startsWith(u8, l, "net.")) continue;
            const eq = std.mem.indexOfScalar(u8, l, '=') orelse continue;
            const key = std.mem.trim(u8, l[4..eq], " \t");
            netpolicy.set(&policy, key, l[eq + 1 ..]) catch |err| fail("root image: policy file: net.{s}: {s}", .{ key, @errorName(err) });
        }
    } else inline for (keys) |key| {
        if (command_line.get("zigu.net." ++ key)) |v| netpolicy.set(&policy, key, v) catch |err| fail("zigu.net.{s}={s}: {s}", .{ key, v, @errorName(err) });
    }
    gate.setNetPolicy(policy);
    for (virtio) |d| {
        const dev = virtio_mmio.probe(d.base) catch continue;
        if (dev.device_id != virtio_mmio.device_net) continue;
        net_device.init(dev, &pages) catch |err| fail("virtio-net at 0x{x}: {s}", .{ d.base, @errorName(err) });
        ioapic.route(d.irq, gate.net_vector) catch fail("virtio-net at 0x{x}: no I/O APIC pin for IRQ {d}", .{ d.base, d.irq });
        gate.net = &net_device;
        const m = net_device.mac;
        if (verbose) serial.print("zigu: net: virtio-net at 0x{x} irq {d}, mac {x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}\n", .{ d.base, d.irq, m[0], m[1], m[2], m[3], m[4], m[5] });
        return;
    }
}

/// `syscall` where it reaches ring 0, the trap gate where it does not (nested kvm-pvm), unless the
/// command line forces one: `zigu.gate=auto|syscall|trap`.
fn chooseGate(loaded: *const workload.Loaded) struct { kind: layout.GateKind, how: []const u8 } {
    const mode = command_line.get("zigu.gate") orelse "auto";
    if (std.mem.eql(u8, mode, "trap")) return .{ .kind = .trap, .how = "forced" };
    if (std.mem.eql(u8, mode, "syscall")) return .{ .kind = .syscall, .how = "forced" };
    if (!std.mem.eql(u8, mode, "auto")) fail("zigu.gate={s}: expected auto, syscall or trap", .{mode});
    loaded.setGate(.syscall);
    gate.probing = true;
    const outcome = loaded.probe(gate.gate_probe_call);
    gate.probing = false;
    const works = outcome == .probe and outcome.probe;
    return .{ .kind = if (works) .syscall else .trap, .how = "probed" };
}

/// zigu.test=stack-overflow: one frame larger than the whole boot stack. Stack probes touch it
/// page by page from the top, so it must die on the guard page with a panic, not corrupt memory.
fn overflowStack() void {
    var big: [96 * 1024]u8 = undefined;
    const first: *volatile u8 = &big[0];
    first.* = 1;
}

fn onOff(on: bool) []const u8 {
    return if (on) "on" else "off";
}

/// zigu.test=smep|smap|write-text|exec-data: the kernel itself does what a hijacked kernel would,
/// once the workload is loaded; each must end in a page-fault panic, never in "not stopped".
fn kernelEscapeTest(what: []const u8, loaded: *const workload.Loaded) void {
    const ret_offset = 0x800; // a `ret` written into the workload's info page (user, executable)
    const page: [*]u8 = @ptrFromInt(loaded.info_phys);
    page[ret_offset] = 0xC3;
    if (std.mem.eql(u8, what, "smep")) {
        const user_code: *const fn () callconv(.c) void = @ptrFromInt(layout.user_info_addr + ret_offset);
        user_code();
    } else if (std.mem.eql(u8, what, "smap")) {
        const user_data: *const volatile u8 = @ptrFromInt(layout.user_info_addr);
        _ = user_data.*;
    } else if (std.mem.eql(u8, what, "write-text")) {
        const text: *volatile u8 = @ptrCast(@constCast(&kmain));
        text.* = 0xC3;
    } else if (std.mem.eql(u8, what, "exec-data")) {
        const data: *const fn () callconv(.c) void = @ptrCast(&heap);
        @as(*volatile u8, @ptrCast(&heap)).* = 0xC3;
        data();
    } else return;
    serial.print("zigu: test {s}: not stopped\n", .{what});
}

fn tscSource() []const u8 {
    const Windows = struct {
        var text: [24]u8 = undefined;
    };
    return switch (time.source) {
        .command_line => "zigu.tsc_hz",
        .kvmclock => "kvmclock",
        .pit => std.fmt.bufPrint(&Windows.text, "PIT, {d} windows", .{time.calibration_windows}) catch "PIT",
    };
}

export fn kmain(protocol: u32, info_paddr: u64) callconv(.c) noreturn {
    time.markBoot();
    phase_start = cpu.rdtsc();
    serial.init();
    paging.unmapTrapPages();
    paging.protectKernel();
    cpu.initGdt();
    cpu.initIdt();
    cpu.maskLegacyPic();
    trap.handlers = .{ .user_fault = gate.userFault, .interrupt = gate.interrupt };
    phase("cpu");

    readBootInfo(protocol, info_paddr);
    phase("bootinfo");
    const line = boot.cmdline();
    command_line.parse(line);
    verbose = if (command_line.get("zigu.verbose")) |v| !std.mem.eql(u8, v, "0") else false;
    if (verbose) serial.print("zigu {s}: booted by {s}, {d} MiB usable, cmdline \"{s}\"\n", .{
        version, if (boot.protocol == .pvh) "PVH" else "Linux 64-bit", boot.usableBytes() >> 20, line,
    });
    time.initTsc(command_line.get("zigu.tsc_hz")) catch |err| switch (err) {
        error.BadTscHz => fail("zigu.tsc_hz={s}: expected the TSC frequency in Hz (10 MHz to 100 GHz)", .{command_line.get("zigu.tsc_hz").?}),
        error.PitNotCounting => fail("TSC calibration: the PIT does not count", .{}),
    };
    phase("tsc");
    lapic.init() catch fail("the local APIC timer does not count", .{});
    phase("lapic");
    const epoch_text = command_line.get("zigu.epoch_ns");
    const epoch_ns = if (epoch_text) |t| std.fmt.parseInt(u64, t, 10) catch fail("zigu.epoch_ns={s}: expected nanoseconds since 1970", .{t}) else null;
    time.initWall(epoch_ns);
    phase("wall");
    initMemory();
    phase("memory");
    const virtio = command_line.virtioDevices(&virtio_devices) catch |err| fail("command line: {s}", .{@errorName(err)});
    if (verbose) serial.print("zigu: image 0x{x}-0x{x}, tsc {d} kHz ({s}), wall clock: {s}, {d} free pages, heap {d} KiB, {d} virtio-mmio device(s)\n", .{
        @intFromPtr(&__kernel_start), @intFromPtr(&__kernel_end), time.tsc_hz / 1000, tscSource(), time.wall_source, pages.freePages(), heap_pages * 4, virtio.len,
    });

    if (command_line.get("zigu.test")) |what| {
        if (std.mem.eql(u8, what, "stack-overflow")) overflowStack();
        if (std.mem.eql(u8, what, "kernel-fault")) {
            // A read from an address nothing maps: the kernel's own exception path, end to end.
            const bad: *volatile u64 = @ptrFromInt(0x0000_7000_0000_0000);
            _ = bad.*;
        }
    }

    // The capability policy is data: the kinds the workload may acquire, from the image's
    // configuration (carried on the command line for now). Absent means none.
    const chosen = chooseWorkload();
    phase("image");
    const policy = objects.policyFromNames(chosen.policy) catch fail("policy \"{s}\" ({s}): unknown capability (known: " ++ objects.numbers.cap_names ++ ")", .{ chosen.policy, chosen.source });
    const mem_limit_bytes = if (chosen.memory_limit_mib) |text| objects.memoryLimitBytes(text) catch
        fail("memory limit \"{s}\" ({s}): expected MiB, 1 to {d}", .{ text, chosen.source, objects.max_memory_limit_mib }) else memory.unlimited;
    gate.init(policy, mem_limit_bytes, &pages);
    gate.setPolicyOrigin(if (chosen.policy_file != null) .image else .command_line);
    const profile = command_line.get("zigu.profile") orelse "";
    gate.profile = listHas(profile, "calls");
    const profile_boot = listHas(profile, "boot");
    phase("policy");
    initNet(&chosen, virtio);
    phase("net");
    if (command_line.get("zigu.snapshot")) |v| if (!std.mem.eql(u8, v, "0")) {
        snapshot.verbose = verbose;
        snapshot.init(virtio) catch |err| switch (err) {
            error.NoVmClock => fail("zigu.snapshot=1: no VMClock device at 0x{x} (snapshot starts need Firecracker 1.14 or later)", .{snapshot.vmclock_addr}),
            error.NoSuchPin => fail("zigu.snapshot=1: no I/O APIC pin for the VMGenID and VMClock interrupts", .{}),
        };
    };

    cpu.initSyscall();
    cpu.enableUserSse();
    const prot = cpu.initProtections();
    if (verbose) serial.print("zigu: protections: kernel text read-only, data no-execute, smep {s}, smap {s}, umip {s}; avx {s}; rdtsc and rdrand open to ring 3\n", .{
        onOff(prot.smep), onOff(prot.smap), onOff(prot.umip), onOff(prot.avx),
    });
    phase("protections");
    const t_load = time.nowNs();
    const arg = command_line.get("zigu.arg") orelse "";
    if (arg.len > layout.max_arg_bytes) fail("zigu.arg of {d} bytes (at most {d})", .{ arg.len, layout.max_arg_bytes });
    const loaded = workload.load(&pages, chosen.elf, arg, chosen.root_image, policy) catch |err| fail("workload image: {s}", .{@errorName(err)});
    phase("load");
    if (command_line.get("zigu.test")) |what| {
        if (std.mem.eql(u8, what, "bare-entry")) cpu.bareEntryOnUd() else kernelEscapeTest(what, &loaded);
    }
    const t_probe = time.nowNs();
    const chosen_gate = chooseGate(&loaded);
    const t_run = time.nowNs();
    phase("probe");
    loaded.setGate(chosen_gate.kind);
    gate.clock_page = &loaded.info().clock;
    var limit_buf: [40]u8 = undefined;
    const limit_text = if (chosen.memory_limit_mib != null) std.fmt.bufPrint(&limit_buf, ", memory limit {d} MiB", .{mem_limit_bytes >> 20}) catch unreachable else "";
    if (verbose) serial.print("zigu: gate {s} ({s}), workload {d} pages ({s}, policy \"{s}\"{s}); boot {d} us (load {d} us, probe {d} us)\n", .{
        @tagName(chosen_gate.kind), chosen_gate.how, loaded.pages, chosen.source, chosen.policy, limit_text, t_run / 1000, (t_probe - t_load) / 1000, (t_run - t_probe) / 1000,
    }) else serial.print("zigu {s}: boot {d} us, gate {s} ({s}), tsc {d} kHz ({s})\n", .{ version, t_run / 1000, @tagName(chosen_gate.kind), chosen_gate.how, time.tsc_hz / 1000, tscSource() });
    if (verbose or profile_boot) printPhases();

    const status: u8 = switch (loaded.run()) {
        .exited => |code| code,
        .faulted => |vector| 128 + vector,
        .probe => fail("probe outcome outside the probe", .{}),
    };
    if (gate.net != null) {
        const c = gate.netCounters();
        serial.print("zigu: net: frames out {d}, in {d}; dropped by the policy: out {d}, in {d}; kernel entries {d}\n", .{ c.tx, c.rx, c.tx_dropped, c.rx_dropped, gate.entries });
    }
    if (gate.profile) {
        serial.print("zigu: profile: {d} interrupts; per call: nr count cycles/call\n", .{gate.interrupts});
        for (gate.profile_counts, gate.profile_cycles, 0..) |count, cycles, nr| {
            if (count > 0) serial.print("zigu: profile: {d} {d} {d}\n", .{ nr, count, cycles / count });
        }
    }
    serial.print("zigu: exit {d}\n", .{status});
    serial.flush();
    cpu.resetVm();
}
