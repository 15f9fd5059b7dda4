//! What each ABI call does, once, for both homes of the ABI: the kernel (syscalls.zig, behind the
//! entry gate) and the host library (host_lib.zig, libukernel_abi.so). Arguments arrive as raw
//! 64-bit values; the platform says what memory the caller owns, what time it is, how to wait,
//! where the console is and where random bits come from. The capability core is abi.zig.
const std = @import("std");
const abi = @import("abi.zig");
const n = abi.numbers;

/// Platform: a namespace with
///   nowNs() u64; wallNs() ?u64; sleepUntil(deadline_ns: u64) void; consoleWrite([]const u8) void;
///   randomWord() ?u64 (null: unavailable); callerBytes(ptr, len, write: bool) ?[]u8;
///   exit(status: u8) noreturn.
pub fn Calls(comptime Platform: type) type {
    return struct {
        pub var core: abi.Core = undefined;

        pub fn init(policy: u64) void {
            core.init(policy);
        }

        /// One call: a non-negative result or a negative error code.
        pub fn call(nr: u64, a0: u64, a1: u64, a2: u64) i64 {
            return callOrError(@enumFromInt(nr), a0, a1, a2) catch |err| abi.errorCode(err);
        }

        fn callOrError(which: n.Call, a0: u64, a1: u64, a2: u64) abi.Error!i64 {
            if (which.requiredCap()) |cap| try core.check(cap);
            return switch (which) {
                .exit => Platform.exit(@truncate(a0)),
                .log => log(a0, a1, a2),
                .clock_now => clockNow(a0),
                .cap_acquire => handle(try core.capAcquire(a0)),
                .cap_enter => capEnter(a0, a1),
                .cap_drop => done(try core.capDrop(a0)),
                .handle_close => done(try core.close(a0)),
                .timer_create => handle(try core.timerCreate()),
                .timer_arm => done(try core.timerArm(a0, Platform.nowNs(), a1, a2)),
                .io_register => done(try core.register(a0, a1, a2)),
                .io_unregister => done(try core.unregister(a0)),
                .io_poll => ioPoll(a0, a1, @bitCast(a2)),
                .random => random(a0, a1),
                .nop => 0,
                _ => error.NoSys,
            };
        }

        fn done(_: void) i64 {
            return 0;
        }

        fn handle(h: u64) i64 {
            std.debug.assert(h > 0 and h <= std.math.maxInt(i64));
            return @intCast(h);
        }

        fn bytes(ptr: u64, len: u64, write: bool) abi.Error![]u8 {
            if (len == 0) return &.{};
            return Platform.callerBytes(ptr, len, write) orelse error.BadPointer;
        }

        fn log(level: u64, ptr: u64, len: u64) abi.Error!i64 {
            const prefix = switch (level) {
                n.log_error => "error: ",
                n.log_warn => "warn: ",
                n.log_info => "",
                n.log_debug => "debug: ",
                else => return error.Invalid,
            };
            if (len > n.max_log_bytes) return error.Invalid;
            const msg = try bytes(ptr, len, false);
            Platform.consoleWrite(prefix);
            Platform.consoleWrite(msg);
            if (len == 0 or msg[len - 1] != '\n') Platform.consoleWrite("\n");
            return 0;
        }

        fn clockNow(clock: u64) abi.Error!i64 {
            return switch (clock) {
                n.clock_monotonic => @intCast(Platform.nowNs() & std.math.maxInt(i64)),
                n.clock_wall => if (Platform.wallNs()) |ns| @intCast(ns & std.math.maxInt(i64)) else error.Unsupported,
                else => error.Invalid,
            };
        }

        fn capEnter(ptr: u64, count: u64) abi.Error!i64 {
            if (count > abi.max_handles) return error.Invalid;
            const raw = try bytes(ptr, count * 8, false);
            var handles: [abi.max_handles]u64 = undefined;
            for (handles[0..count], 0..) |*h, i| h.* = std.mem.readInt(u64, raw[i * 8 ..][0..8], .little);
            try core.capEnter(handles[0..count]);
            return 0;
        }

        fn ioPoll(ptr: u64, max_requested: u64, timeout_ns: i64) abi.Error!i64 {
            if (max_requested == 0) return error.Invalid;
            if (timeout_ns < n.timeout_infinite) return error.Invalid;
            const max: u64 = @min(max_requested, n.max_poll_events); // typed: @min would narrow it to u7
            const out = try bytes(ptr, max * @sizeOf(n.Event), true);
            const start = Platform.nowNs();
            const give_up: ?u64 = if (timeout_ns == n.timeout_infinite) null else start +| @as(u64, @intCast(timeout_ns));
            var events: [n.max_poll_events]n.Event = undefined;
            while (true) {
                const now = Platform.nowNs();
                const count = core.poll(now, events[0..max]);
                if (count > 0) {
                    @memcpy(out[0 .. count * @sizeOf(n.Event)], std.mem.sliceAsBytes(events[0..count]));
                    return @intCast(count);
                }
                if (give_up) |g| if (now >= g) return 0;
                // Nothing registered can ever become ready: waiting forever would hang.
                if (give_up == null and !core.canWake()) return error.Invalid;
                const next = core.nextDeadline();
                const wake = if (give_up) |g| (if (next) |d| @min(d, g) else g) else next.?;
                Platform.sleepUntil(wake);
            }
        }

        /// Tries per random word before the generator counts as failed (Intel's guidance is 10).
        const random_retries: u32 = 10;

        fn random(ptr: u64, len: u64) abi.Error!i64 {
            if (len > n.max_random_bytes) return error.Invalid;
            const out = try bytes(ptr, len, true);
            var i: usize = 0;
            while (i < out.len) {
                const word = for (0..random_retries) |_| {
                    if (Platform.randomWord()) |w| break w;
                } else return error.Unsupported;
                const take = @min(8, out.len - i);
                @memcpy(out[i..][0..take], std.mem.asBytes(&word)[0..take]);
                i += take;
            }
            return @intCast(len);
        }
    };
}
