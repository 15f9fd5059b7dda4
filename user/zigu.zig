//! The workload side of the ABI for Zig workloads. Calls go through the gate stub the kernel mapped
//! (its address is in the WorkloadInfo block handed over in rdi at entry), so no workload
//! hard-codes `syscall` or the trap gate. Numbers come from abi/spec.ts (abi_numbers.zig).
const std = @import("std");
pub const layout = @import("layout");
pub const abi = @import("abi_numbers");

pub const Cap = abi.Cap;
pub const Event = abi.Event;
pub const Handle = u64;

pub const Error = error{ Permission, BadHandle, BadPointer, Invalid, NoSpace, NoSys, Unsupported, Exists, WouldBlock, Connection, NotAllowed, NotFound, Unknown };

const Gate = *const fn (nr: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) callconv(.c) i64;

var info: *const layout.WorkloadInfo = undefined;

pub fn init(workload_info: *const layout.WorkloadInfo) void {
    info = workload_info;
    if (info.magic != layout.workload_info_magic) @trap();
}

/// The raw call: a non-negative result or a negative error code.
pub fn raw(nr: abi.Call, a0: u64, a1: u64, a2: u64) i64 {
    return raw4(nr, a0, a1, a2, 0);
}

pub fn raw4(nr: abi.Call, a0: u64, a1: u64, a2: u64, a3: u64) i64 {
    const gate: Gate = @ptrFromInt(info.gate);
    return gate(@intFromEnum(nr), a0, a1, a2, a3, 0);
}

pub fn toError(code: i64) Error {
    return switch (@as(abi.Error, @enumFromInt(code))) {
        .permission => error.Permission,
        .bad_handle => error.BadHandle,
        .bad_pointer => error.BadPointer,
        .invalid => error.Invalid,
        .no_space => error.NoSpace,
        .no_sys => error.NoSys,
        .unsupported => error.Unsupported,
        .exists => error.Exists,
        .would_block => error.WouldBlock,
        .connection => error.Connection,
        .not_allowed => error.NotAllowed,
        .not_found => error.NotFound,
        _ => error.Unknown,
    };
}

fn call(nr: abi.Call, a0: u64, a1: u64, a2: u64) Error!u64 {
    const r = raw(nr, a0, a1, a2);
    return if (r < 0) toError(r) else @intCast(r);
}

/// Where the kernel's gate stub is mapped (for code that makes calls by hand).
pub fn gateAddress() u64 {
    return info.gate;
}

/// mem_map: `len` bytes (whole pages) of fresh memory, zero-filled, writable and never
/// executable, counted against the workload's memory limit (over it: error.NoSpace).
pub fn memMap(len: u64) Error![]align(4096) u8 {
    const addr = try call(.mem_map, len, 0, 0);
    const p: [*]align(4096) u8 = @ptrFromInt(addr);
    return p[0..@intCast(len)];
}

/// mem_unmap: gives back exactly one mapping memMap returned.
pub fn memUnmap(mem: []align(4096) u8) Error!void {
    _ = try call(.mem_unmap, @intFromPtr(mem.ptr), mem.len, 0);
}

/// The root image the workload came from (a POSIX tar, read-only), empty for a built-in or
/// initrd workload.
pub fn rootImage() []const u8 {
    if (info.root_image_len == 0) return &.{};
    const p: [*]const u8 = @ptrFromInt(info.root_image);
    return p[0..info.root_image_len];
}

/// The launcher's argument (`zigu.arg=`), empty when there is none.
pub fn launchArg() []const u8 {
    const p: [*]const u8 = @ptrFromInt(info.arg);
    return p[0..info.arg_len];
}

pub fn gateKind() layout.GateKind {
    return @enumFromInt(info.gate_kind);
}

/// A raw result as an error union (for tests of raw calls).
pub fn toErrorOrOk(r: i64) Error!u64 {
    return if (r < 0) toError(r) else @intCast(r);
}

/// cap_acquire with any number, known kind or not.
pub fn call_raw_acquire(kind: u64) Error!Handle {
    return call(.cap_acquire, kind, 0, 0);
}

pub fn capAcquire(cap: Cap) Error!Handle {
    return call(.cap_acquire, @intFromEnum(cap), 0, 0);
}

pub fn capEnter(handles: []const Handle) Error!void {
    _ = try call(.cap_enter, @intFromPtr(handles.ptr), handles.len, 0);
}

pub fn capDrop(cap: Cap) Error!void {
    _ = try call(.cap_drop, @intFromEnum(cap), 0, 0);
}

/// Acquires and enters each capability: what most workloads do first.
pub fn enter(caps: []const Cap) Error!void {
    var handles: [16]Handle = undefined;
    for (caps, 0..) |cap, i| handles[i] = try capAcquire(cap);
    try capEnter(handles[0..caps.len]);
}

pub fn close(h: Handle) Error!void {
    _ = try call(.handle_close, h, 0, 0);
}

pub const Level = enum(u32) { err = abi.log_error, warn = abi.log_warn, info = abi.log_info, debug = abi.log_debug };

pub fn logAt(level: Level, msg: []const u8) Error!void {
    _ = try call(.log, @intFromEnum(level), @intFromPtr(msg.ptr), msg.len);
}

/// Info-level line; a workload without CAP_LOG silently logs nothing.
pub fn log(msg: []const u8) void {
    logAt(.info, msg) catch {};
}

pub fn print(comptime fmt: []const u8, args: anytype) void {
    var buf: [1024]u8 = undefined;
    log(std.fmt.bufPrint(&buf, fmt, args) catch "zigu.print: line too long");
}

/// clock_now: from the clock page while CAP_TIME is active (no kernel entry), else the call (which
/// then refuses with error.Permission, or error.Unsupported for a wall time nobody knows yet).
pub fn clockNow(clock: u32) Error!u64 {
    const r = ring3.clock_now(clock);
    return if (r < 0) toError(r) else @intCast(r);
}

/// The calls the library answers in ring 3 when it can (abi/spec.ts: `ring3`), with the raw call's
/// result: a non-negative value or a negative error code.
pub const ring3 = struct {
    pub fn clock_now(clock: u32) i64 {
        return clockFromPage(clock) orelse raw(.clock_now, clock, 0, 0);
    }
};

/// layout.Clock: what clock_now would return, computed as the kernel computes it, or null when the
/// page does not have it (CAP_TIME not active, a wall time not known yet, another clock number,
/// the kernel rewriting the page): the call decides then.
pub fn clockFromPage(clock: u32) ?i64 {
    if (info.version < 4) return null;
    const page: *const volatile layout.Clock = &info.clock;
    const want: u32 = switch (clock) {
        abi.clock_monotonic => layout.clock_flag_monotonic,
        abi.clock_wall => layout.clock_flag_wall,
        else => return null,
    };
    for (0..4) |_| {
        const seq = page.seq;
        if (seq & 1 != 0) return null;
        if (page.flags & want == 0) return null;
        const ticks = rdtsc() -% page.tsc_base;
        const mono: u64 = @truncate((@as(u128, ticks) * page.ns_mult) >> 32);
        const ns = if (clock == abi.clock_wall) page.wall_base_ns +% mono else mono;
        if (page.seq == seq) return @intCast(ns & std.math.maxInt(i64));
    }
    return null;
}

/// The TSC, read in ring 3 (open there on every platform: docs/kernel-abi.md, CAP_TIME).
pub fn rdtsc() u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("rdtsc"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
    );
    return (@as(u64, hi) << 32) | lo;
}

pub fn nowNs() u64 {
    return clockNow(abi.clock_monotonic) catch 0;
}

/// The capability kinds the policy lets this workload acquire (1 << CAP_*), from the info page;
/// every kind on a kernel older than the page's version 5 (then cap_acquire decides alone).
pub fn policy() u64 {
    return if (info.version >= 5) info.policy else ~@as(u64, 0);
}

/// The snapshot start's ready point (`ready`, docs/snapshots.md): 0, or how often this VM has been
/// restored from a snapshot taken inside this call; then reseed any random state of your own.
pub fn ready() u64 {
    return call(.ready, 0, 0, 0) catch 0;
}

pub fn timerCreate() Error!Handle {
    return call(.timer_create, 0, 0, 0);
}

pub fn timerArm(timer: Handle, delay_ns: u64, period_ns: u64) Error!void {
    _ = try call(.timer_arm, timer, delay_ns, period_ns);
}

pub fn register(h: Handle, interest: u32, user_data: u64) Error!void {
    _ = try call(.io_register, h, interest, user_data);
}

pub fn unregister(h: Handle) Error!void {
    _ = try call(.io_unregister, h, 0, 0);
}

/// Waits up to `timeout_ns` (abi.timeout_infinite: for ever; 0: just look) for registered handles.
pub fn poll(events: []Event, timeout_ns: i64) Error![]Event {
    const count = try call(.io_poll, @intFromPtr(events.ptr), events.len, @bitCast(timeout_ns));
    return events[0..count];
}

pub fn random(buf: []u8) Error!void {
    _ = try call(.random, @intFromPtr(buf.ptr), buf.len, 0);
}

/// Sleeps with a one-shot timer and io_poll: the ABI's one way of waiting.
pub fn sleepNs(ns: u64) Error!void {
    const t = try timerCreate();
    defer close(t) catch {};
    try register(t, abi.ev_readable, t);
    // Unregistered before the close: closing a registered handle queues a hang-up, which would
    // end the next sleep at once.
    defer unregister(t) catch {};
    try timerArm(t, ns, 0);
    var ev: [1]Event = undefined;
    while ((try poll(&ev, abi.timeout_infinite)).len == 0) {}
}

/// A task's entry: runs on its own stack with `arg`, and must end with taskExit (returning faults).
pub const TaskEntry = *const fn (arg: u64) callconv(.c) noreturn;

/// Spawns a cooperative task on `stack` (memory the workload owns, at least 4 KiB).
pub fn spawn(entry: TaskEntry, arg: u64, stack: []u8) Error!Handle {
    const r = raw4(.task_spawn, @intFromPtr(entry), arg, @intFromPtr(stack.ptr), stack.len);
    return if (r < 0) toError(r) else @intCast(r);
}

pub fn yield() Error!void {
    _ = try call(.task_yield, 0, 0, 0);
}

pub fn taskExit(status: u8) noreturn {
    _ = raw(.task_exit, status, 0, 0);
    unreachable;
}

/// Waits until the task has ended and returns its status.
pub fn join(task: Handle) Error!u8 {
    return @intCast(try call(.task_join, task, 0, 0));
}

pub fn exit(code: u8) noreturn {
    _ = raw(.exit, code, 0, 0);
    unreachable;
}

/// Exit status of a workload that panics.
pub const panic_status: u8 = 101;

pub fn panicHandler(msg: []const u8, _: ?usize) noreturn {
    print("workload panic: {s}", .{msg});
    exit(panic_status);
}

// ---- the network ---------------------------------------------------------------------------------

/// The kernel's frame device (CAP_NET): raw Ethernet frames in batches, checked against the
/// network policy. Workloads normally use sockets (`net` below) instead.
pub const netdev = struct {
    pub const IoVec = abi.IoVec;

    pub fn open() Error!Handle {
        return call(.net_open, 0, 0, 0);
    }

    /// The device and policy as `key=value` lines, into `buf`.
    pub fn info(dev: Handle, buf: []u8) Error![]u8 {
        const len = try call(.net_info, dev, @intFromPtr(buf.ptr), buf.len);
        return buf[0..@intCast(len)];
    }

    /// Frames the device took (each 14..1514 bytes).
    pub fn send(dev: Handle, frames: []const IoVec) Error!usize {
        return @intCast(try call(.net_send, dev, @intFromPtr(frames.ptr), frames.len));
    }

    /// Frames received into `bufs` (each at least 1514 bytes), their lengths into `lens`.
    pub fn recv(dev: Handle, bufs: []const IoVec, lens: []u64) Error!usize {
        std.debug.assert(lens.len >= bufs.len);
        const r = raw4(.net_recv, dev, @intFromPtr(bufs.ptr), bufs.len, @intFromPtr(lens.ptr));
        return if (r < 0) toError(r) else @intCast(r);
    }
};

/// TCP and UDP sockets from the network library (runtime/net, a TCP/IP stack in ring 3): only in
/// workloads that link it (build.zig: `.net = true`). Their handles also work with register,
/// unregister, poll and close, through the C functions of include/ukernel_abi.h.
pub const net = struct {
    extern fn uk_tcp_listen(port: u32, backlog: u32) callconv(.c) i64;
    extern fn uk_tcp_accept(listener: u64) callconv(.c) i64;
    extern fn uk_tcp_connect(addr: u32, port: u32) callconv(.c) i64;
    extern fn uk_sock_send(sock: u64, buf: [*]const u8, len: u64) callconv(.c) i64;
    extern fn uk_sock_recv(sock: u64, buf: [*]u8, len: u64) callconv(.c) i64;
    extern fn uk_sock_shutdown(sock: u64) callconv(.c) i64;
    extern fn uk_dns_query(name: [*]const u8, len: u64) callconv(.c) i64;
    extern fn uk_dns_result(query: u64, addrs: [*]u32, max: u64) callconv(.c) i64;
    extern fn uk_handle_close(h: u64) callconv(.c) i64;
    extern fn uk_io_register(h: u64, interest: u32, user_data: u64) callconv(.c) i64;
    extern fn uk_io_unregister(h: u64) callconv(.c) i64;
    extern fn uk_io_poll(events: [*]Event, max: u64, timeout_ns: i64) callconv(.c) i64;

    fn check(r: i64) Error!u64 {
        return if (r < 0) toError(r) else @intCast(r);
    }
    pub fn listen(port: u16, backlog: u32) Error!Handle {
        return check(uk_tcp_listen(port, backlog));
    }
    pub fn accept(listener: Handle) Error!Handle {
        return check(uk_tcp_accept(listener));
    }
    pub fn connect(addr: u32, port: u16) Error!Handle {
        return check(uk_tcp_connect(addr, port));
    }
    pub fn send(sock: Handle, bytes: []const u8) Error!usize {
        return @intCast(try check(uk_sock_send(sock, bytes.ptr, bytes.len)));
    }
    pub fn recv(sock: Handle, buf: []u8) Error!usize {
        return @intCast(try check(uk_sock_recv(sock, buf.ptr, buf.len)));
    }
    pub fn shutdown(sock: Handle) Error!void {
        _ = try check(uk_sock_shutdown(sock));
    }
    /// A DNS query for `name` (readable through poll once answered).
    pub fn dnsQuery(name: []const u8) Error!Handle {
        return check(uk_dns_query(name.ptr, name.len));
    }
    /// The query's IPv4 addresses, in `addrs` (1..MAX_DNS_ADDRS); error.WouldBlock while unanswered.
    pub fn dnsResult(query: Handle, addrs: []u32) Error![]u32 {
        const got = try check(uk_dns_result(query, addrs.ptr, addrs.len));
        return addrs[0..@intCast(got)];
    }
    /// `name`'s first IPv4 address, waiting for the resolver (other handles' events are dropped
    /// meanwhile: call it before registering others, or use dnsQuery and poll).
    pub fn resolve(name: []const u8) Error!u32 {
        const q = try dnsQuery(name);
        defer _ = uk_handle_close(q);
        try net.register(q, abi.ev_readable, q);
        var one: [1]u32 = undefined;
        while (true) {
            if (dnsResult(q, &one)) |got| return got[0] else |e| if (e != error.WouldBlock) return e;
            var ev: [8]Event = undefined;
            _ = try net.poll(&ev, -1);
        }
    }
    /// Closes a socket or any kernel handle.
    pub fn close(h: Handle) Error!void {
        _ = try check(uk_handle_close(h));
    }
    pub fn register(h: Handle, interest: u32, user_data: u64) Error!void {
        _ = try check(uk_io_register(h, interest, user_data));
    }
    pub fn unregister(h: Handle) Error!void {
        _ = try check(uk_io_unregister(h));
    }
    /// io_poll over sockets and kernel handles alike (the library folds its own in).
    pub fn poll(events: []Event, timeout_ns: i64) Error![]Event {
        const got = try check(uk_io_poll(events.ptr, events.len, timeout_ns));
        return events[0..@intCast(got)];
    }
};
