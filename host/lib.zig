//! libukernel_abi.so: the same ABI on Linux, for running workloads on the host without a VM
//! (the runtime adapters' local runs). Same core (kernel/core/objects.zig), same call semantics (kernel/core/calls.zig), same
//! capability checks and error codes; the platform is libc: clock_gettime, nanosleep, getrandom,
//! stdout, mmap. The policy comes from the environment: UKERNEL_CAPS=log,time,... (absent: none),
//! and UKERNEL_MEMORY_LIMIT_MIB=N, the most mem_map may hold at once (absent: what mmap gives).
//! The socket calls are the host's own sockets (host/net.zig), under the network policy of
//! UKERNEL_NET_LISTEN, UKERNEL_NET_CONNECT and UKERNEL_NET_BIND.
//! On the host a pointer cannot be checked against page tables: only null, the first page and
//! wrapping ranges are refused; anything else is the caller's own memory.
const std = @import("std");
const core = @import("core");
const objects = core.objects;

comptime {
    _ = @import("exports.zig");
}

const Timespec = extern struct { sec: i64, nsec: i64 };
extern "c" fn clock_gettime(clock: c_int, ts: *Timespec) c_int;
extern "c" fn getrandom(buf: [*]u8, len: usize, flags: c_uint) isize;
extern "c" fn write(fd: c_int, buf: [*]const u8, len: usize) isize;
extern "c" fn exit(status: c_int) noreturn;
extern "c" fn getenv(name: [*:0]const u8) ?[*:0]const u8;
extern "c" fn mmap(addr: ?*anyopaque, len: usize, prot: c_int, flags: c_int, fd: c_int, offset: i64) ?*anyopaque;
extern "c" fn munmap(addr: *anyopaque, len: usize) c_int;

const prot_read: c_int = 1;
const prot_write: c_int = 2;
const map_private: c_int = 0x02;
const map_anonymous: c_int = 0x20;
const map_noreserve: c_int = 0x4000;
const map_failed: usize = std.math.maxInt(usize);

const clock_realtime: c_int = 0;
const clock_monotonic: c_int = 1;
const first_page_bytes: u64 = 4096;

fn clockNs(clock: c_int) u64 {
    var ts: Timespec = undefined;
    if (clock_gettime(clock, &ts) != 0) return 0;
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

var start_ns: u64 = 0;

const Host = struct {
    pub fn nowNs() u64 {
        return clockNs(clock_monotonic) - start_ns;
    }
    pub fn wallNs() ?u64 {
        return clockNs(clock_realtime);
    }
    /// In ppoll(2) on the sockets registered with io_poll (none: a plain sleep), so that a
    /// socket becoming ready ends the wait; an early return just polls again.
    pub fn sleepUntil(deadline_ns: u64) u64 {
        Sockets.sleepUntil(deadline_ns);
        return nowNs();
    }
    /// The host's sockets (host/net.zig): their events in the core's io_poll, and its sleep ends
    /// when one is ready.
    pub fn libraryEvents(out: []core.numbers.Event) usize {
        return Sockets.collect(out);
    }
    pub fn libraryWaiting() bool {
        return Sockets.polling();
    }
    /// No clock page on the host: the library reads the host's clocks in every call.
    pub fn publishClock(_: bool) void {}
    pub fn consoleWrite(bytes: []const u8) void {
        var rest = bytes;
        while (rest.len > 0) {
            const n = write(1, rest.ptr, rest.len);
            if (n <= 0) return;
            rest = rest[@intCast(n)..];
        }
    }
    pub fn randomWord() ?u64 {
        var word: u64 = undefined;
        return if (getrandom(@ptrCast(&word), 8, 0) == 8) word else null;
    }
    /// Refusal notes go to stderr: stdout is the program's.
    pub fn notice(line: []const u8) void {
        _ = write(2, line.ptr, line.len);
    }
    /// A host process is never snapshotted: the ready point returns at once.
    pub fn ready() u64 {
        return 0;
    }
    /// The host cannot see which memory the caller owns: it refuses the first page (null) and
    /// ranges that wrap; anything else is the caller's promise, as with any C library.
    pub fn userRangeOk(ptr: u64, len: u64, _: bool) bool {
        if (ptr < first_page_bytes) return false;
        _ = std.math.add(u64, ptr, len) catch return false;
        return true;
    }
    pub fn copyFromUser(addr: u64, dst: []u8) void {
        const p: [*]const u8 = @ptrFromInt(addr);
        @memcpy(dst, p[0..dst.len]);
    }
    pub fn copyToUser(addr: u64, src: []const u8) void {
        const p: [*]u8 = @ptrFromInt(addr);
        @memcpy(p[0..src.len], src);
    }
    pub fn exit(status: u8) noreturn {
        exitProcess(status);
    }
    /// Anonymous private memory: zero from the host kernel, readable and writable, not
    /// executable. The limit was checked by the core; mmap's own refusal is ERR_NO_SPACE.
    pub fn memMap(_: *const core.memory.Mappings, len: u64) ?core.memory.Mapped {
        const p = mmap(null, @intCast(len), prot_read | prot_write, map_private | map_anonymous | map_noreserve, -1, 0);
        const addr = @intFromPtr(p);
        if (addr == map_failed or addr == 0) return null;
        return .{ .addr = addr };
    }
    pub fn memUnmap(addr: u64, len: u64) void {
        _ = munmap(@ptrFromInt(addr), @intCast(len));
    }
    /// No frame device on the host: its sockets are the host's own (the library calls).
    pub const nic = core.calls.no_frame_device;
    /// Tasks are ucontext coroutines on the stacks the caller gives.
    pub const tasks_supported = true;
    pub fn callerCode(addr: u64) bool {
        return addr >= first_page_bytes;
    }
    pub fn startTask(index: u16, entry: u64, arg: u64, stack: u64, stack_len: u64) void {
        host_tasks[index] = .{ .entry = entry, .arg = arg };
        const ctx = &contexts[index];
        _ = getcontext(ctx);
        // glibc x86_64 ucontext_t: uc_link at 8, uc_stack { ss_sp 16, ss_flags 24, ss_size 32 }.
        std.mem.writeInt(u64, ctx[8..16], 0, .little);
        std.mem.writeInt(u64, ctx[16..24], stack, .little);
        std.mem.writeInt(u64, ctx[24..32], 0, .little);
        std.mem.writeInt(u64, ctx[32..40], stack_len, .little);
        makecontext(ctx, taskTrampoline, 0);
    }
};

fn exitProcess(status: u8) noreturn {
    exit(status);
}

const Calls = core.calls.Calls(Host);
const net = @import("net.zig");
const Sockets = net.Sockets(Calls, Host);
var initialised = false;

// ---- tasks: ucontext coroutines ----------------------------------------------------------------

/// glibc's ucontext_t is 968 bytes on x86_64 (with its FPU save area); room to spare.
const ucontext_bytes = 1024;
extern "c" fn getcontext(ucp: *[ucontext_bytes]u8) c_int;
extern "c" fn makecontext(ucp: *[ucontext_bytes]u8, func: *const fn () callconv(.c) void, argc: c_int, ...) void;
extern "c" fn swapcontext(oucp: *[ucontext_bytes]u8, ucp: *const [ucontext_bytes]u8) c_int;

var contexts: [objects.max_tasks][ucontext_bytes]u8 align(16) = undefined;
var host_tasks: [objects.max_tasks]struct { entry: u64 = 0, arg: u64 = 0 } = @splat(.{});

fn taskTrampoline() callconv(.c) void {
    const task = host_tasks[Calls.core.current];
    const entry: *const fn (u64) callconv(.c) void = @ptrFromInt(task.entry);
    entry(task.arg);
    Host.consoleWrite("libukernel_abi: a task returned from its entry function instead of calling task_exit\n");
    exitProcess(1);
}

/// Runs the next task (the scheduler's pick) until control comes back to the calling one.
fn switchAway() void {
    const from = Calls.core.current;
    const next = Calls.schedule() orelse {
        Host.consoleWrite("libukernel_abi: every task waits for another: deadlock\n");
        exitProcess(125);
    };
    if (next == from) return;
    Calls.core.current = next;
    _ = swapcontext(&contexts[from], &contexts[next]);
}

fn initOnce() void {
    if (initialised) return;
    initialised = true;
    start_ns = clockNs(clock_monotonic);
    const names = if (getenv("UKERNEL_CAPS")) |v| std.mem.span(v) else "";
    const policy = objects.policyFromNames(names) catch {
        Host.consoleWrite("libukernel_abi: UKERNEL_CAPS: unknown capability (known: " ++ objects.numbers.cap_names ++ ")\n");
        exitProcess(2);
    };
    Calls.init(policy);
    Calls.policy_origin = .{ .name = "UKERNEL_CAPS", .fix = "UKERNEL_CAPS ([capabilities] allow in ukernel.toml under ukernel adapter)" };
    if (getenv("UKERNEL_MEMORY_LIMIT_MIB")) |v| {
        const limit = objects.memoryLimitBytes(std.mem.span(v)) catch {
            Host.consoleWrite("libukernel_abi: UKERNEL_MEMORY_LIMIT_MIB: expected MiB, 1 to 16384\n");
            exitProcess(2);
        };
        Calls.limitMemory(limit);
    }
    Sockets.init() catch |err| {
        Host.consoleWrite(switch (err) {
            error.BadListen => "libukernel_abi: UKERNEL_NET_LISTEN: expected ports 1-65535, comma-separated (as net.listen)\n",
            error.BadConnect => "libukernel_abi: UKERNEL_NET_CONNECT: expected address[/bits]:port|lo-hi|*, comma-separated (as net.connect)\n",
            error.BadBind => "libukernel_abi: UKERNEL_NET_BIND: expected an IPv4 address\n",
        });
        exitProcess(2);
    };
}

/// Every exported uk_* function lands here. Single-threaded, like the kernel it stands in for:
/// tasks are coroutines switched only inside calls.
pub fn call(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) i64 {
    initOnce();
    while (true) {
        const r = dispatch(nr, a0, a1, a2, a3);
        switch (r.action) {
            .none => return r.value,
            .switch_after => {
                switchAway();
                return r.value;
            },
            .restart => switchAway(), // then the same call again, as the kernel does
            .ended => {
                switchAway();
                unreachable; // an ended task is never resumed
            },
        }
    }
}

/// The socket calls, and the folded calls on socket handles, go to the host's sockets; io_poll is
/// the core's, which merges the sockets' readiness (Host.libraryEvents) with its own events. The
/// rest, and everything on the core's handles, to the core, as in the kernel.
fn dispatch(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) core.calls.Result {
    const Call = core.numbers.Call;
    if (std.enums.fromInt(net.LibraryCall, nr)) |which| return .{ .value = Sockets.call(which, a0, a1, a2, a3) };
    const value: i64 = switch (@as(Call, @enumFromInt(nr))) {
        .handle_close => if (Sockets.owns(a0)) Sockets.handleClose(a0) else return Calls.call(nr, a0, a1, a2, a3),
        .io_register => if (Sockets.owns(a0)) Sockets.ioRegister(a0, a1, a2) else return Calls.call(nr, a0, a1, a2, a3),
        .io_unregister => if (Sockets.owns(a0)) Sockets.ioUnregister(a0) else return Calls.call(nr, a0, a1, a2, a3),
        else => return Calls.call(nr, a0, a1, a2, a3),
    };
    return .{ .value = value };
}
