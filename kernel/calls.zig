//! What each ABI call does, once, for both homes of the ABI: the kernel (syscalls.zig, behind the
//! entry gate) and the host library (host_lib.zig, libukernel_abi.so). Arguments arrive as raw
//! 64-bit values; the platform says what memory the caller owns, what time it is, how to wait,
//! where the console is and where random bits come from. The capability core is abi.zig.
const std = @import("std");
const abi = @import("abi.zig");
const n = abi.numbers;

/// What the platform does after a call, beyond handing back its value.
pub const Action = enum {
    /// Return the value to the running task.
    none,
    /// Return the value to the running task, but run the next task first (task_yield).
    switch_after,
    /// The running task waits (task_join, io_poll): run another; this call is issued again, with
    /// the same arguments, when the task next runs.
    restart,
    /// The running task has ended (task_exit): run another.
    ended,
};

pub const Result = struct { value: i64 = 0, action: Action = .none };

/// Ring-3 memory that the platform's pointer checker has accepted: [addr, addr + len) is the
/// caller's, readable (`UserIn`) or writable too (`UserOut`). Only `Calls.userIn`/`userOut` make
/// one (the proof is a pointer to a constant no other file can name), and only `Calls.copyIn`/
/// `copyOut` move its bytes, inside its bounds: no call handler ever holds a pointer into ring-3
/// memory, and the kernel reaches it only through the platform's copy functions (the guest's go
/// through its own identity map, so SMAP can stay on). Hubris's `USlice` is the model.
pub const UserIn = struct { addr: u64, len: u64, proof: *const Proof };
pub const UserOut = struct { addr: u64, len: u64, proof: *const Proof };
const Proof = struct { checked: bool };
const checked: Proof = .{ .checked = true };

/// Platform: a namespace with
///   nowNs() u64; wallNs() ?u64; sleepUntil(deadline_ns: u64) void; consoleWrite([]const u8) void;
///   randomWord() ?u64 (null: unavailable);
///   userRangeOk(ptr, len, write: bool) bool (the pointer checker: all of it the caller's, and
///   writable when asked); copyFromUser(addr, dst: []u8) void and copyToUser(addr, src) void
///   (only ever on ranges userRangeOk accepted);
///   tasks_supported: bool; startTask(index: u16, entry: u64, arg: u64, stack: u64, len: u64) void;
///   callerCode(addr) bool (whether the caller may execute at addr);
///   exit(status: u8) noreturn.
pub fn Calls(comptime Platform: type) type {
    return struct {
        pub var core: abi.Core = undefined;

        pub fn init(policy: u64) void {
            core.init(policy);
        }

        /// One call: a non-negative value or a negative error code, and what to do next.
        pub fn call(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) Result {
            return callOrError(@enumFromInt(nr), a0, a1, a2, a3) catch |err| .{ .value = abi.errorCode(err) };
        }

        /// The task to run next: a ready one, else one task waiting in io_poll, whose poll then
        /// sleeps for every poller (tasks waiting in io_poll do not wake each other up, so two of
        /// them never ping-pong). Null when every task waits for another: a deadlock.
        pub fn schedule() ?u16 {
            return core.pickNext() orelse core.wakeOnePoller();
        }

        fn value(v: i64) Result {
            return .{ .value = v };
        }

        fn callOrError(which: n.Call, a0: u64, a1: u64, a2: u64, a3: u64) abi.Error!Result {
            if (which.requiredCap()) |cap| try core.check(cap);
            return switch (which) {
                .task_spawn => value(try taskSpawn(a0, a1, a2, a3)),
                .task_yield => taskYield(),
                .task_exit => blk: {
                    try core.taskExit(@truncate(a0));
                    break :blk .{ .action = .ended };
                },
                .task_join => if (try core.taskJoin(a0)) |status| value(status) else .{ .action = .restart },
                .io_poll => ioPoll(a0, a1, @bitCast(a2)),
                else => value(try simple(which, a0, a1, a2)),
            };
        }

        fn simple(which: n.Call, a0: u64, a1: u64, a2: u64) abi.Error!i64 {
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
                .random => random(a0, a1),
                .nop => 0,
                .io_poll, .task_spawn, .task_yield, .task_exit, .task_join => unreachable,
                _ => error.NoSys,
            };
        }

        /// Smallest stack a task may be given.
        const min_task_stack_bytes: u64 = 4096;
        /// Largest stack checked page by page at spawn (the check is emulated ring-0 work).
        const max_task_stack_bytes: u64 = 64 << 20;

        fn taskSpawn(entry: u64, arg: u64, stack: u64, stack_len: u64) abi.Error!i64 {
            if (!Platform.tasks_supported) return error.Unsupported;
            if (stack_len < min_task_stack_bytes or stack_len > max_task_stack_bytes) return error.Invalid;
            _ = try userOut(stack, stack_len);
            if (!Platform.callerCode(entry)) return error.BadPointer;
            const task = try core.taskSpawn();
            Platform.startTask(task.index, entry, arg, stack, stack_len);
            return handle(task.handle);
        }

        /// Tasks waiting in io_poll whose deadline passed or whose timer is due run again in
        /// turn (however many others keep yielding); with nobody else ready, one poller gets the
        /// turn to look again.
        fn taskYield() Result {
            if (core.polling_count > 0 and core.pollersDue(Platform.nowNs())) core.wakePollers();
            return .{ .action = if (core.otherTaskReady() or core.wakeOnePoller() != null) .switch_after else .none };
        }

        fn done(_: void) i64 {
            return 0;
        }

        fn handle(h: u64) i64 {
            std.debug.assert(h > 0 and h <= std.math.maxInt(i64));
            return @intCast(h);
        }

        // ---- ring-3 memory: checked once, then moved only by copy ----------------------------

        pub fn userIn(ptr: u64, len: u64) abi.Error!UserIn {
            if (len > 0 and !Platform.userRangeOk(ptr, len, false)) return error.BadPointer;
            return .{ .addr = ptr, .len = len, .proof = &checked };
        }

        pub fn userOut(ptr: u64, len: u64) abi.Error!UserOut {
            if (len > 0 and !Platform.userRangeOk(ptr, len, true)) return error.BadPointer;
            return .{ .addr = ptr, .len = len, .proof = &checked };
        }

        /// Copies `dst.len` bytes from `offset` into `src` (which must hold them) into the kernel.
        pub fn copyIn(src: UserIn, offset: u64, dst: []u8) void {
            std.debug.assert(src.proof.checked and offset <= src.len and dst.len <= src.len - offset);
            if (dst.len > 0) Platform.copyFromUser(src.addr + offset, dst);
        }

        /// Copies `src` to `offset` in `dst` (which must have room for it).
        pub fn copyOut(dst: UserOut, offset: u64, src: []const u8) void {
            std.debug.assert(dst.proof.checked and offset <= dst.len and src.len <= dst.len - offset);
            if (src.len > 0) Platform.copyToUser(dst.addr + offset, src);
        }

        /// Console lines go out through a kernel buffer of this size, one piece at a time.
        const log_chunk_bytes = 256;

        fn log(level: u64, ptr: u64, len: u64) abi.Error!i64 {
            const prefix = switch (level) {
                n.log_error => "error: ",
                n.log_warn => "warn: ",
                n.log_info => "",
                n.log_debug => "debug: ",
                else => return error.Invalid,
            };
            if (len > n.max_log_bytes) return error.Invalid;
            const msg = try userIn(ptr, len);
            Platform.consoleWrite(prefix);
            var buf: [log_chunk_bytes]u8 = undefined;
            var last: u8 = 0;
            var copied: u64 = 0;
            while (copied < len) {
                const piece = buf[0..@min(buf.len, len - copied)];
                copyIn(msg, copied, piece);
                Platform.consoleWrite(piece);
                last = piece[piece.len - 1];
                copied += piece.len;
            }
            if (last != '\n') Platform.consoleWrite("\n");
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
            const src = try userIn(ptr, count * 8);
            var handles: [abi.max_handles]u64 = undefined;
            copyIn(src, 0, std.mem.sliceAsBytes(handles[0..count]));
            try core.capEnter(handles[0..count]);
            return 0;
        }

        fn ioPoll(ptr: u64, max_requested: u64, timeout_ns: i64) abi.Error!Result {
            if (max_requested == 0) return error.Invalid;
            if (timeout_ns < n.timeout_infinite) return error.Invalid;
            const max: u64 = @min(max_requested, n.max_poll_events); // typed: @min would narrow it to u7
            const out = try userOut(ptr, max * @sizeOf(n.Event));
            // A poll resumed after other tasks ran keeps the deadline of its first attempt.
            const give_up = core.pollDeadline(Platform.nowNs(), timeout_ns);
            var events: [n.max_poll_events]n.Event = undefined;
            while (true) {
                const now = Platform.nowNs();
                const count = core.poll(now, events[0..max]);
                if (count > 0) {
                    core.pollDone();
                    copyOut(out, 0, std.mem.sliceAsBytes(events[0..count]));
                    return value(@intCast(count));
                }
                if (give_up) |g| if (now >= g) {
                    core.pollDone();
                    return value(0);
                };
                if (core.otherTaskReady()) {
                    core.blockInPoll();
                    return .{ .action = .restart };
                }
                // No other task can run: wait here for the first deadline, ours, a timer's, or
                // another poller's. With none at all, nothing can ever wake this poll.
                const wake = earliest(earliest(give_up, core.nextDeadline()), core.pollersDeadline()) orelse {
                    core.pollDone();
                    return error.Invalid;
                };
                Platform.sleepUntil(wake);
                core.wakePollers();
            }
        }

        fn earliest(a: ?u64, b: ?u64) ?u64 {
            const x = a orelse return b;
            const y = b orelse return a;
            return @min(x, y);
        }

        /// Tries per random word before the generator counts as failed (Intel's guidance is 10).
        const random_retries: u32 = 10;

        fn random(ptr: u64, len: u64) abi.Error!i64 {
            if (len > n.max_random_bytes) return error.Invalid;
            const out = try userOut(ptr, len);
            var buf: [256]u8 = undefined;
            var copied: u64 = 0;
            while (copied < len) {
                const piece = buf[0..@min(buf.len, len - copied)];
                var i: usize = 0;
                while (i < piece.len) {
                    const word = for (0..random_retries) |_| {
                        if (Platform.randomWord()) |w| break w;
                    } else return error.Unsupported;
                    const take = @min(8, piece.len - i);
                    @memcpy(piece[i..][0..take], std.mem.asBytes(&word)[0..take]);
                    i += take;
                }
                copyOut(out, copied, piece);
                copied += piece.len;
            }
            return @intCast(len);
        }
    };
}

// ---- tests: the capability matrix of every gated call -------------------------------------------

const TestPlatform = struct {
    var now: u64 = 0;
    var memory: [4096]u8 align(16) = undefined;
    const memory_base: u64 = 0x10000;

    pub const tasks_supported = false;
    pub fn nowNs() u64 {
        return now;
    }
    pub fn wallNs() ?u64 {
        return null;
    }
    pub fn sleepUntil(deadline_ns: u64) void {
        now = @max(now, deadline_ns);
    }
    pub fn consoleWrite(_: []const u8) void {}
    pub fn randomWord() ?u64 {
        return 0x5eed;
    }
    pub fn userRangeOk(ptr: u64, len: u64, _: bool) bool {
        return ptr >= memory_base and len <= memory.len and ptr - memory_base <= memory.len - len;
    }
    pub fn copyFromUser(addr: u64, dst: []u8) void {
        @memcpy(dst, memory[addr - memory_base ..][0..dst.len]);
    }
    pub fn copyToUser(addr: u64, src: []const u8) void {
        @memcpy(memory[addr - memory_base ..][0..src.len], src);
    }
    pub fn callerCode(_: u64) bool {
        return true;
    }
    pub fn startTask(_: u16, _: u64, _: u64, _: u64, _: u64) void {
        unreachable;
    }
    pub fn exit(_: u8) noreturn {
        unreachable;
    }
};

test "every gated call: refused before acquire, after acquire without enter, and after drop; allowed when entered" {
    const C = Calls(TestPlatform);
    const b = TestPlatform.memory_base;
    inline for (@typeInfo(n.Call).@"enum".field_values) |nr| {
        const which: n.Call = @enumFromInt(nr);
        if (which.requiredCap()) |cap| {
            // Arguments that pass every other check where they can: a valid buffer, small sizes.
            const args = [4]u64{ 1, b, 8, 0 };
            const permission = abi.errorCode(error.Permission);
            C.init(cap.bit());
            try std.testing.expectEqual(permission, C.call(nr, args[0], args[1], args[2], args[3]).value);
            const h: u64 = @intCast(C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(cap), 0, 0, 0).value);
            try std.testing.expectEqual(permission, C.call(nr, args[0], args[1], args[2], args[3]).value);
            std.mem.writeInt(u64, TestPlatform.memory[0..8], h, .little);
            try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_enter), b, 1, 0, 0).value);
            try std.testing.expect(C.call(nr, args[0], args[1], args[2], args[3]).value != permission);
            try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_drop), @intFromEnum(cap), 0, 0, 0).value);
            try std.testing.expectEqual(permission, C.call(nr, args[0], args[1], args[2], args[3]).value);
            try std.testing.expectEqual(permission, C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(cap), 0, 0, 0).value);
        }
    }
}
