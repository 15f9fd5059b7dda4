//! libukernel_abi.so: the same ABI on Linux, for running workloads on the host without a VM
//! (the runtime adapters' local runs). Same core (abi.zig), same call semantics (calls.zig), same
//! capability checks and error codes; the platform is libc: clock_gettime, nanosleep, getrandom,
//! stdout. The policy comes from the environment: UKERNEL_CAPS=log,time,... (absent: none).
//! On the host a pointer cannot be checked against page tables: only null, the first page and
//! wrapping ranges are refused; anything else is the caller's own memory.
const std = @import("std");
const abi = @import("abi.zig");

comptime {
    _ = @import("host_exports.zig");
}

const Timespec = extern struct { sec: i64, nsec: i64 };
extern "c" fn clock_gettime(clock: c_int, ts: *Timespec) c_int;
extern "c" fn nanosleep(req: *const Timespec, rem: ?*Timespec) c_int;
extern "c" fn getrandom(buf: [*]u8, len: usize, flags: c_uint) isize;
extern "c" fn write(fd: c_int, buf: [*]const u8, len: usize) isize;
extern "c" fn exit(status: c_int) noreturn;
extern "c" fn getenv(name: [*:0]const u8) ?[*:0]const u8;

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
    pub fn sleepUntil(deadline_ns: u64) void {
        const now = nowNs();
        if (now >= deadline_ns) return;
        const wait = deadline_ns - now;
        const ts = Timespec{ .sec = @intCast(wait / std.time.ns_per_s), .nsec = @intCast(wait % std.time.ns_per_s) };
        _ = nanosleep(&ts, null); // an early return (a signal) just polls again
    }
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
    pub fn callerBytes(ptr: u64, len: u64, _: bool) ?[]u8 {
        if (ptr < first_page_bytes) return null;
        _ = std.math.add(u64, ptr, len) catch return null;
        const p: [*]u8 = @ptrFromInt(ptr);
        return p[0..len];
    }
    pub fn exit(status: u8) noreturn {
        exitProcess(status);
    }
    /// Tasks need their own stacks and register sets; the host library has none yet.
    pub const tasks_supported = false;
    pub fn callerCode(_: u64) bool {
        return true;
    }
    pub fn startTask(_: u16, _: u64, _: u64, _: u64) void {
        unreachable;
    }
};

fn exitProcess(status: u8) noreturn {
    exit(status);
}

const Calls = @import("calls.zig").Calls(Host);
var initialised = false;

fn initOnce() void {
    if (initialised) return;
    initialised = true;
    start_ns = clockNs(clock_monotonic);
    const names = if (getenv("UKERNEL_CAPS")) |v| std.mem.span(v) else "";
    const policy = abi.policyFromNames(names) catch {
        Host.consoleWrite("libukernel_abi: UKERNEL_CAPS: unknown capability (known: log, time, task, io, net, random)\n");
        exitProcess(2);
    };
    Calls.init(policy);
}

/// Every exported uk_* function lands here. Single-threaded, like the kernel it stands in for.
pub fn call(nr: u64, a0: u64, a1: u64, a2: u64) i64 {
    initOnce();
    const r = Calls.call(nr, a0, a1, a2);
    // Without task_spawn no other task exists, so no call can ask for a switch.
    std.debug.assert(r.action == .none);
    return r.value;
}
