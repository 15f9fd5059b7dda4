//! What each ABI call does, once, for both homes of the ABI: the kernel (gate.zig, behind the
//! entry gate) and the host library (host/lib.zig, libukernel_abi.so). Arguments arrive as raw
//! 64-bit values and are decoded into typed structs by call_args.zig, generated from abi/spec.ts;
//! the platform says what memory the caller owns, what time it is, how to wait, where the console
//! is and where random bits come from. The object core is objects.zig.
const std = @import("std");
const objects = @import("objects.zig");
const call_args = @import("call_args.zig");
const mem_map = @import("memory.zig");
pub const netpolicy = @import("netpolicy.zig");
const n = objects.numbers;

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

pub const Result = struct {
    value: i64 = 0,
    action: Action = .none,
    /// Workload memory the platform must zero before the caller runs again (mem_map of recycled
    /// pages; the guest does it in ring 3, where it runs natively). Only with `action == .none`.
    zero: mem_map.Region = .{ .addr = 0, .len = 0 },
};

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
///   nowNs() u64; wallNs() ?u64; sleepUntil(deadline_ns: u64) u64 (returns the clock when it
///   returned); consoleWrite([]const u8) void;
///   callStartNs() u64, optional (when the running call entered, the clock timer_arm's delay and
///   io_poll's timeout count from; nowNs() where the platform has no such stamp);
///   holdReturn(until_ns: u64) void, optional (io_poll returns: the gate holds the return until
///   the clock shows until_ns, 0: not at all, and hands its stamps to `pollReturned` at the next
///   entry; where the platform has none, io_poll never looks ahead);
///   randomWord() ?u64 (null: unavailable);
///   notice([]const u8) void (a line for the person running the workload: the kernel's console, the
///   host's stderr);
///   ready() u64 (the snapshot start's ready point: 0, or how often this VM was restored from a
///   snapshot taken there);
///   userRangeOk(ptr, len, write: bool) bool (the pointer checker: all of it the caller's, and
///   writable when asked); copyFromUser(addr, dst: []u8) void and copyToUser(addr, src) void
///   (only ever on ranges userRangeOk accepted);
///   tasks_supported: bool; startTask(index: u16, entry: u64, arg: u64, stack: u64, len: u64) void;
///   callerCode(addr) bool (whether the caller may execute at addr);
///   memMap(mappings: *const mem_map.Mappings, len) ?mem_map.Mapped (maps `len` fresh bytes where
///   no mapping is, writable and no-execute; null when the machine has no memory left) and
///   memUnmap(addr, len) void (only ever on a live mapping);
///   exit(status: u8) noreturn;
///   nic, the network device (`no_frame_device` where there is none): present() bool;
///   mac() [6]u8; tscHz() u64; readiness() u32 (EV_READABLE: a frame waits; EV_WRITABLE: a TX
///   buffer is free); txBuffer() ?[]u8 (a free TX buffer of at least MAX_FRAME_BYTES) then
///   txSubmit(len), and txFlush() once per batch; rxPeek() ?[]const u8 (the next received frame)
///   then rxRelease(), and rxFlush() once per batch;
///   libraryEvents(out: []Event) usize (events of handles a library of this home keeps: the
///   host's sockets; the guest's network library folds its own in ring 3, so 0 there, never
///   waiting) and libraryWaiting() bool (such handles are registered: an io_poll with nothing else
///   to wait for sleeps until they are ready, `sleepUntil(maxInt)`).
/// The `nic` of a platform without a network device (the host library, the tests).
pub const no_frame_device = struct {
    pub fn present() bool {
        return false;
    }
    pub fn mac() [6]u8 {
        return .{ 0, 0, 0, 0, 0, 0 };
    }
    pub fn tscHz() u64 {
        return 0;
    }
    pub fn readiness() u32 {
        return 0;
    }
    pub fn txBuffer() ?[]u8 {
        return null;
    }
    pub fn txSubmit(_: usize) void {}
    pub fn txFlush() void {}
    pub fn rxPeek() ?[]const u8 {
        return null;
    }
    pub fn rxRelease() void {}
    pub fn rxFlush() void {}
};

pub fn Calls(comptime Platform: type) type {
    return struct {
        pub var core: objects.Core = undefined;
        /// The workload's mem_map mappings and its memory limit.
        pub var mappings: mem_map.Mappings = undefined;
        /// Scratch of the calls that gather before they copy out. Container-level, not locals:
        /// a safety-checked build fills `undefined` locals with 0xAA on every call, and each
        /// ring-0 store is emulated under kvm-pvm (1 KiB of events cost ~0.3 ms per io_poll).
        var poll_events: [n.max_poll_events]n.Event = undefined;
        var enter_handles: [objects.max_handles]u64 = undefined;
        var recv_lens: [n.max_net_batch]u64 = undefined;
        var net_info_text: [n.max_net_info_bytes]u8 = undefined;
        /// The descriptor table of the call's one in_vec/out_vec argument, copied in.
        var vec_table: [n.max_net_batch]n.IoVec = undefined;
        /// The network policy every frame is checked against, and what the checks did.
        pub var net_policy: netpolicy.Policy = .{};
        pub var net_counters: netpolicy.Counters = .{};

        pub fn init(policy: u64) void {
            core.init(policy);
            mappings.init(mem_map.unlimited);
            net_counters = .{};
            refusals_noted = 0;
            inactive_noted = 0;
            poll_exits = .{ 0, 0 };
            poll_exit_min_ns = .{ std.math.maxInt(u64), std.math.maxInt(u64) };
            poll_body_peak_ns = .{ 0, 0 };
            poll_tail_min_ns = .{ std.math.maxInt(u64), std.math.maxInt(u64) };
            poll_lead_ns = .{ 0, 0 };
            poll_return_pending = false;
        }

        /// Where the policy came from, for the refusal notes: what it is called and where to change it.
        pub const PolicyOrigin = struct { name: []const u8, fix: []const u8 };
        pub var policy_origin: PolicyOrigin = .{ .name = "the policy", .fix = "the policy" };
        /// Kinds whose refusal was printed already: one line per kind and reason per run, so a
        /// workload cannot flood the console through refusals.
        var refusals_noted: u64 = 0;
        var inactive_noted: u64 = 0;
        var note_buf: [320]u8 = undefined;

        /// The policy's kinds by name ("log,time"), or "nothing".
        fn policyNames(buf: []u8) []const u8 {
            var len: usize = 0;
            inline for (@typeInfo(n.Cap).@"enum".field_values) |kind| {
                const cap: n.Cap = @enumFromInt(kind);
                const name = @tagName(cap);
                if (core.policy & cap.bit() != 0 and len + name.len + 1 <= buf.len) {
                    if (len > 0) {
                        buf[len] = ',';
                        len += 1;
                    }
                    @memcpy(buf[len..][0..name.len], name);
                    len += name.len;
                }
            }
            return if (len == 0) "nothing" else buf[0..len];
        }

        /// A refused cap_acquire: outside the policy, or dropped for good. Printed once per kind.
        fn noteAcquireRefused(kind: u64) void {
            @branchHint(.cold);
            const cap = objects.knownCap(kind) orelse return;
            if (refusals_noted & cap.bit() != 0) return;
            refusals_noted |= cap.bit();
            var names: [64]u8 = undefined;
            const line = if (core.dropped & cap.bit() != 0)
                std.fmt.bufPrint(&note_buf, "zigu: capability \"{s}\" refused: the workload dropped it for good (cap_drop)\n", .{@tagName(cap)})
            else
                std.fmt.bufPrint(&note_buf, "zigu: capability \"{s}\" refused: {s} allows {s}; add \"{s}\" to {s}\n", .{ @tagName(cap), policy_origin.name, policyNames(&names), @tagName(cap), policy_origin.fix });
            Platform.notice(line catch return);
        }

        /// A call refused because its capability is not active. Printed once per kind.
        fn noteInactive(comptime which: n.Call, cap: n.Cap) void {
            @branchHint(.cold);
            if (inactive_noted & cap.bit() != 0) return;
            inactive_noted |= cap.bit();
            var names: [64]u8 = undefined;
            const line = if (core.policy & cap.bit() == 0)
                std.fmt.bufPrint(&note_buf, "zigu: {s} refused: it needs capability \"{s}\", which {s} does not allow (it allows {s}); add \"{s}\" to {s}\n", .{ @tagName(which), @tagName(cap), policy_origin.name, policyNames(&names), @tagName(cap), policy_origin.fix })
            else if (core.dropped & cap.bit() != 0)
                std.fmt.bufPrint(&note_buf, "zigu: {s} refused: the workload dropped capability \"{s}\" (cap_drop)\n", .{ @tagName(which), @tagName(cap) })
            else
                std.fmt.bufPrint(&note_buf, "zigu: {s} refused: capability \"{s}\" is allowed but not active: the workload must cap_acquire it and cap_enter the handle first\n", .{ @tagName(which), @tagName(cap) });
            Platform.notice(line catch return);
        }

        /// The most the workload may hold through mem_map at once (set before it runs).
        pub fn limitMemory(limit_bytes: u64) void {
            mappings.limit_bytes = limit_bytes;
        }

        /// One call: a non-negative value or a negative error code, and what to do next.
        /// Each call is its own function, never inlined here: the dispatch is a jump table, and a
        /// call runs only its own prologue, not the register saves and 1.8 KiB frame of every call
        /// at once (each ring-0 instruction is emulated under kvm-pvm, ~0.6 µs), and its
        /// capability check is a constant test.
        pub inline fn call(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) Result {
            return switch (@as(n.Call, @enumFromInt(nr))) {
                _ => .{ .value = objects.errorCode(error.NoSys) },
                inline else => |c| @call(.never_inline, callOne, .{ c, a0, a1, a2, a3 }),
            };
        }

        fn callOne(comptime which: n.Call, a0: u64, a1: u64, a2: u64, a3: u64) Result {
            return callOrError(which, .{ a0, a1, a2, a3 }) catch |err| .{ .value = objects.errorCode(err) };
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

        /// The generated decoder (call_args.zig, from abi/spec.ts) turns each call's
        /// registers into its typed arguments, with this struct's checked memory types.
        const D = call_args.Decoder(@This());
        pub const In = UserIn;
        pub const Out = UserOut;

        /// The capability first, then the arguments (ranges, then memory), then the call itself.
        inline fn callOrError(comptime which: n.Call, r: call_args.Raw) objects.Error!Result {
            if (comptime which.requiredCap()) |cap| core.check(cap) catch |err| {
                @call(.never_inline, noteInactive, .{ which, cap });
                return err;
            };
            return switch (which) {
                .exit => Platform.exit(@truncate((try D.exit(r)).status)),
                .log => value(try log(try D.log(r))),
                .clock_now => value(try clockNow((try D.clock_now(r)).clock)),
                .cap_acquire => blk: {
                    const kind = (try D.cap_acquire(r)).kind;
                    break :blk value(handle(core.capAcquire(kind) catch |err| {
                        if (err == error.Permission) @call(.never_inline, noteAcquireRefused, .{kind});
                        return err;
                    }));
                },
                .cap_enter => value(try capEnter(try D.cap_enter(r))),
                .cap_drop => blk: {
                    try core.capDrop((try D.cap_drop(r)).kind);
                    publishClock();
                    break :blk value(0);
                },
                .handle_close => value(done(try core.close((try D.handle_close(r)).handle))),
                .timer_create => value(handle(try core.timerCreate())),
                .timer_arm => blk: {
                    const a = try D.timer_arm(r);
                    break :blk value(done(try core.timerArm(a.timer, callStartNs(), a.delay_ns, a.period_ns)));
                },
                .io_register => blk: {
                    const a = try D.io_register(r);
                    break :blk value(done(try core.register(a.handle, a.interest, a.user_data)));
                },
                .io_unregister => value(done(try core.unregister((try D.io_unregister(r)).handle))),
                .io_poll => ioPoll(try D.io_poll(r)),
                .random => value(try random(try D.random(r))),
                .nop => value(0),
                .task_spawn => value(try taskSpawn(try D.task_spawn(r))),
                .task_yield => taskYield(),
                .task_exit => blk: {
                    try core.taskExit(@truncate((try D.task_exit(r)).status));
                    break :blk .{ .action = .ended };
                },
                .task_join => if (try core.taskJoin((try D.task_join(r)).task)) |status| value(status) else .{ .action = .restart },
                .mem_map => try memMap(try D.mem_map(r)),
                .mem_unmap => value(done(try memUnmap(try D.mem_unmap(r)))),
                .net_open => blk: {
                    if (!Platform.nic.present()) break :blk error.Unsupported;
                    break :blk value(handle(try core.netOpen()));
                },
                .net_info => value(try netInfo(try D.net_info(r))),
                .net_send => value(try netSend(try D.net_send(r))),
                .net_recv => value(try netRecv(try D.net_recv(r))),
                .ready => blk: {
                    const restores = Platform.ready();
                    publishClock(); // a restore re-read the wall clock
                    break :blk value(@intCast(restores & std.math.maxInt(i63)));
                },
                _ => comptime unreachable,
            };
        }

        /// The limit and the table first, then the platform's own memory; a mapping the platform
        /// could not make leaves nothing behind.
        fn memMap(a: D.MemMap) objects.Error!Result {
            try mappings.admit(a.len);
            const m = Platform.memMap(&mappings, a.len) orelse return error.NoSpace;
            std.debug.assert(m.addr > 0 and m.addr <= std.math.maxInt(i64) and m.dirty.len <= a.len);
            mappings.insert(m.addr, a.len);
            return .{ .value = @intCast(m.addr), .zero = m.dirty };
        }

        /// Only a whole live mapping, exactly as mem_map returned it: never the stack, the image
        /// or part of a mapping (the page tables are not consulted: the table is the authority).
        fn memUnmap(a: D.MemUnmap) objects.Error!void {
            if (!mappings.isMapping(a.addr, a.len)) return error.Invalid;
            Platform.memUnmap(a.addr, a.len);
            mappings.remove(a.addr, a.len) catch unreachable;
        }

        fn netInfo(a: D.NetInfo) objects.Error!i64 {
            try core.netLookup(a.dev);
            var w = std.Io.Writer.fixed(&net_info_text);
            const mac = Platform.nic.mac();
            w.print("mac={x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}\nmtu=1500\ntsc_hz={d}\n", .{ mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], Platform.nic.tscHz() }) catch return error.NoSpace;
            netpolicy.format(&net_policy, &w) catch return error.NoSpace;
            const text = w.buffered();
            if (text.len > a.len) return error.NoSpace;
            copyOut(a.buf, 0, text);
            return @intCast(text.len);
        }

        /// Every frame's length first (all or none are refused), then each copied straight into a
        /// device buffer and checked there, after the copy: ring 3 cannot change what was checked.
        fn netSend(a: D.NetSend) objects.Error!i64 {
            try core.netLookup(a.dev);
            for (a.frames.items[0..a.frames.len]) |f| {
                if (f.len < n.min_frame_bytes or f.len > n.max_frame_bytes) return error.Invalid;
            }
            var taken: usize = 0;
            for (a.frames.items[0..a.frames.len]) |f| {
                const buf = Platform.nic.txBuffer() orelse break;
                const bytes = buf[0..@intCast(f.len)];
                copyIn(f, 0, bytes);
                taken += 1;
                if (!netpolicy.allows(&net_policy, .out, bytes)) {
                    net_counters.tx_dropped += 1;
                    continue; // the buffer stays free
                }
                Platform.nic.txSubmit(bytes.len);
                net_counters.tx += 1;
            }
            if (taken > 0) Platform.nic.txFlush();
            return @intCast(taken);
        }

        /// Each buffer is checked when a frame is about to go there: a bad one at position 0 is
        /// ERR_BAD_POINTER, past it the call returns the frames received so far (the frame stays
        /// in the device for the next call, which then fails at position 0). The lengths go out in
        /// one copy at the end.
        fn netRecv(a: D.NetRecv) objects.Error!i64 {
            try core.netLookup(a.dev);
            for (a.frames.descs) |d| if (d.len < n.max_frame_bytes) return error.Invalid;
            var got: usize = 0;
            var released = false;
            const lens = &recv_lens;
            while (got < a.frames.descs.len) {
                const frame = Platform.nic.rxPeek() orelse break;
                if (frame.len > n.max_frame_bytes or !netpolicy.allows(&net_policy, .in, frame)) {
                    net_counters.rx_dropped += 1;
                } else {
                    const buf = a.frames.at(got) catch |err| {
                        if (got == 0) return err;
                        break;
                    };
                    copyOut(buf, 0, frame);
                    lens[got] = frame.len;
                    got += 1;
                    net_counters.rx += 1;
                }
                Platform.nic.rxRelease();
                released = true;
            }
            if (released) Platform.nic.rxFlush();
            copyOut(a.lens, 0, std.mem.sliceAsBytes(lens[0..got]));
            return @intCast(got);
        }

        fn taskSpawn(a: D.TaskSpawn) objects.Error!i64 {
            if (!Platform.tasks_supported) return error.Unsupported;
            if (!Platform.callerCode(a.entry)) return error.BadPointer;
            const task = try core.taskSpawn();
            Platform.startTask(task.index, a.entry, a.arg, a.stack.addr, a.stack.len);
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

        pub fn userIn(ptr: u64, len: u64) call_args.DecodeError!UserIn {
            if (len > 0 and !Platform.userRangeOk(ptr, len, false)) return error.BadPointer;
            return .{ .addr = ptr, .len = len, .proof = &checked };
        }

        pub fn userOut(ptr: u64, len: u64) call_args.DecodeError!UserOut {
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

        /// An array of at most `max` (pointer, length) descriptors in workload memory: what
        /// batched calls (the network's frames) take. The table is copied into the kernel in one
        /// piece (one page walk, not one per descriptor: each is emulated under kvm-pvm), so ring
        /// 3 cannot change a descriptor after its check.
        fn Vec(comptime Item: type, comptime max: u64) type {
            return struct { items: [max]Item, len: usize };
        }
        pub fn InVec(comptime max: u64) type {
            return Vec(UserIn, max);
        }

        /// Output descriptors, each range checked when the call is about to write there (`at`):
        /// net_recv fills as many buffers as frames wait, usually one, and checking all 32 up front
        /// cost ~64 page walks per call. Lengths can be read unchecked (`descs`).
        pub fn OutVec(comptime max: u64) type {
            return struct {
                /// The copy in the kernel's `vec_table` (no call takes two descriptor arrays).
                descs: []const n.IoVec,

                comptime {
                    std.debug.assert(max <= n.max_net_batch);
                }

                pub fn at(self: *const @This(), i: usize) call_args.DecodeError!UserOut {
                    std.debug.assert(i < self.descs.len);
                    return userOut(self.descs[i].ptr, self.descs[i].len);
                }
            };
        }

        pub fn userInVec(comptime max: u64, ptr: u64, count: u64) call_args.DecodeError!InVec(max) {
            const table = try readTable(max, ptr, count);
            var v: InVec(max) = .{ .items = undefined, .len = table.len };
            for (v.items[0..v.len], table) |*item, d| item.* = try userIn(d.ptr, d.len);
            return v;
        }

        pub fn userOutVec(comptime max: u64, ptr: u64, count: u64) call_args.DecodeError!OutVec(max) {
            const table = try readTable(max, ptr, count);
            return .{ .descs = table };
        }

        /// Into `vec_table`, a container-level buffer rather than a local: a safety-checked build
        /// fills `undefined` locals with 0xAA, 512 emulated bytes per batched call under kvm-pvm.
        fn readTable(comptime max: u64, ptr: u64, count: u64) call_args.DecodeError![]n.IoVec {
            comptime std.debug.assert(max <= vec_table.len);
            if (count > max) return error.Invalid;
            const table = try userIn(ptr, count * @sizeOf(n.IoVec));
            const descs = vec_table[0..@intCast(count)];
            copyIn(table, 0, std.mem.sliceAsBytes(descs));
            return descs;
        }

        /// Console lines go out through a kernel buffer of this size, one piece at a time.
        const log_chunk_bytes = 256;

        fn log(a: D.Log) objects.Error!i64 {
            const prefix = switch (a.level) {
                n.log_error => "error: ",
                n.log_warn => "warn: ",
                n.log_info => "",
                n.log_debug => "debug: ",
                else => unreachable, // the decoder admits the four levels only
            };
            Platform.consoleWrite(prefix);
            var buf: [log_chunk_bytes]u8 = undefined;
            var last: u8 = 0;
            var copied: u64 = 0;
            while (copied < a.msg.len) {
                const piece = buf[0..@min(buf.len, a.msg.len - copied)];
                copyIn(a.msg, copied, piece);
                Platform.consoleWrite(piece);
                last = piece[piece.len - 1];
                copied += piece.len;
            }
            if (last != '\n') Platform.consoleWrite("\n");
            return 0;
        }

        fn clockNow(clock: u32) objects.Error!i64 {
            return switch (clock) {
                n.clock_monotonic => @intCast(Platform.nowNs() & std.math.maxInt(i64)),
                n.clock_wall => if (Platform.wallNs()) |ns| blk: {
                    publishClock(); // the first wall read (the RTC's) makes the page's wall base known
                    break :blk @intCast(ns & std.math.maxInt(i64));
                } else error.Unsupported,
                else => unreachable, // the decoder admits the two clocks only
            };
        }

        /// The clock page follows CAP_TIME (layout.Clock): readable exactly while it is active.
        fn publishClock() void {
            Platform.publishClock(if (core.check(.time)) true else |_| false);
        }

        fn capEnter(a: D.CapEnter) objects.Error!i64 {
            const handles = enter_handles[0..a.count];
            copyIn(a.handles, 0, std.mem.sliceAsBytes(handles));
            try core.capEnter(handles);
            publishClock();
            return 0;
        }

        /// How long io_poll's returns take to reach ring 3 after its last clock read, with events
        /// ([1]) and with none (its timeout passed, [0]), where the platform can time them (the
        /// guest's gate; elsewhere nothing is timed and nothing is led). A return has two parts:
        /// the body, from that clock read to the gate's hold (finding the events, copying them
        /// out, the dispatch back: ~170 ring-0 instructions, whose time varies by tens of µs under
        /// kvm-pvm), and the tail, from the hold's last clock read to the gate's return stamp (a
        /// handful of instructions, the register restores). When returns are slow, io_poll looks
        /// ahead by the body's peak and the tail's minimum, and the gate holds the return (a
        /// spin on the TSC) until the latest deadline it hands over less the tail's minimum: ring 3
        /// runs again just after that deadline, never before it (the untimed `iretq` and the last
        /// register restores are the margin). After io_poll returns, `poll_return_pending` asks
        /// the gate to hand its stamps to `pollReturned` at the next kernel entry.
        var poll_exits: [2]u32 = .{ 0, 0 };
        var poll_exit_min_ns: [2]u64 = .{ std.math.maxInt(u64), std.math.maxInt(u64) };
        var poll_body_peak_ns: [2]u64 = .{ 0, 0 };
        var poll_tail_min_ns: [2]u64 = .{ std.math.maxInt(u64), std.math.maxInt(u64) };
        /// How far ahead of the clock io_poll looks for due timers ([1]) and for its own timeout
        /// ([0]); 0 until it is worth it.
        var poll_lead_ns: [2]u64 = .{ 0, 0 };
        pub var poll_return_pending: bool = false;
        var poll_return_since_ns: u64 = 0;
        var poll_return_events: bool = false;
        /// Returns timed before a lead is used, and the shortest return worth leading by: under
        /// TCG or plain KVM a return takes a few µs and nothing is gained; under nested kvm-pvm
        /// every ring-0 instruction is emulated, a return with a timer's event took ~200 µs, and
        /// every timer woke that much late.
        const lead_after_exits: u32 = 8;
        const lead_min_ns: u64 = 50_000;

        /// io_poll returns now; what it returns must not reach ring 3 before `due_ns` (0: no such
        /// bound), the latest deadline among its timer events or the timeout it waited out.
        fn pollReturning(events: bool, since_ns: u64, due_ns: u64) void {
            poll_return_since_ns = since_ns;
            poll_return_events = events;
            poll_return_pending = true;
            if (@hasDecl(Platform, "holdReturn")) {
                const i = @intFromBool(events);
                // Led: held until the tail's shortest time before the bound. Not led: nothing
                // looked ahead, the bound has passed, and the gate only takes its stamps.
                Platform.holdReturn(if (poll_lead_ns[i] > 0 and due_ns > 0) due_ns -| poll_tail_min_ns[i] else 0);
            }
        }

        /// io_poll's last return: the gate's hold began at `hold_ns` and ended at `released_ns`,
        /// and the return reached ring 3 at `at_ns` (the gate's stamps, at the next entry).
        pub fn pollReturned(hold_ns: u64, released_ns: u64, at_ns: u64) void {
            poll_return_pending = false;
            const i = @intFromBool(poll_return_events);
            const body = hold_ns -| poll_return_since_ns;
            const tail = at_ns -| released_ns;
            poll_exit_min_ns[i] = @min(poll_exit_min_ns[i], body +| tail);
            poll_tail_min_ns[i] = @min(poll_tail_min_ns[i], tail);
            // The body's peak, decaying by 1/64 per return; one sample counts at most twice the
            // shortest return (a host preemption would otherwise hold the next returns for ms).
            const sample = @min(body, poll_exit_min_ns[i] *| 2);
            poll_body_peak_ns[i] = @max(poll_body_peak_ns[i] - poll_body_peak_ns[i] / 64, sample);
            poll_exits[i] +|= 1;
            const worth = poll_exits[i] >= lead_after_exits and poll_exit_min_ns[i] >= lead_min_ns;
            poll_lead_ns[i] = if (worth) poll_body_peak_ns[i] +| poll_tail_min_ns[i] else 0;
        }

        /// The clock when the running call entered: a delay or timeout counts from there, not
        /// from the point in the call that reads the clock (~60 ring-0 instructions later, each
        /// ~1 µs under kvm-pvm).
        fn callStartNs() u64 {
            return if (@hasDecl(Platform, "callStartNs")) Platform.callStartNs() else Platform.nowNs();
        }

        fn ioPoll(a: D.IoPoll) objects.Error!Result {
            const max = a.max; // clamped to max_poll_events by the decoder
            const out = a.events;
            // A poll resumed after other tasks ran keeps the deadline of its first attempt.
            const give_up = core.pollDeadline(callStartNs(), a.timeout_ns);
            const events = &poll_events;
            // After a sleep, the clock as the sleep last read it.
            var now = Platform.nowNs();
            while (true) {
                if (core.net_handle != 0) core.net_ready = Platform.nic.readiness();
                // Timers due by the time ring 3 would see their events, and the same for the
                // timeout: the leads are 0 unless returns are slow (kvm-pvm).
                const lead = poll_lead_ns[1];
                const timeout_lead = poll_lead_ns[0];
                // The core's events first (a timer fires once per deadline: it cannot starve the
                // library's handles), then the library's.
                var count = core.poll(now +| lead, events[0..max]);
                count += Platform.libraryEvents(events[count..max]);
                if (count > 0) {
                    core.pollDone();
                    copyOut(out, 0, std.mem.sliceAsBytes(events[0..count]));
                    pollReturning(true, now, core.polled_deadline_ns);
                    return value(@intCast(count));
                }
                if (give_up) |g| if (now +| timeout_lead >= g) {
                    core.pollDone();
                    pollReturning(false, now, g);
                    return value(0);
                };
                if (core.otherTaskReady()) {
                    core.blockInPoll();
                    return .{ .action = .restart };
                }
                // No other task can run: wait here for the first deadline, ours, a timer's, or
                // another poller's. With none at all, nothing can ever wake this poll, unless the
                // network device is registered: then its interrupt ends the sleep.
                // Each deadline less its lead: the poll wakes when what is due then would reach
                // ring 3 on time.
                const timer_wake = if (core.nextDeadline()) |d| d -| lead else null;
                const poll_wake = if (earliest(give_up, core.pollersDeadline())) |d| d -| timeout_lead else null;
                const wake = earliest(timer_wake, poll_wake) orelse
                    if (core.netRegistered() or Platform.libraryWaiting()) std.math.maxInt(u64) else {
                        core.pollDone();
                        return error.Invalid;
                    };
                now = Platform.sleepUntil(wake);
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

        fn random(a: D.Random) objects.Error!i64 {
            const out = a.buf;
            const len = a.len;
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
    /// How far the clock moves at each read: 0 stands still; more, a kernel whose every step
    /// takes time (ring 0 emulated under kvm-pvm).
    var step: u64 = 0;
    var memory: [4096]u8 align(16) = undefined;
    const memory_base: u64 = 0x10000;

    pub const tasks_supported = false;
    pub fn nowNs() u64 {
        now += step;
        return now;
    }
    pub fn wallNs() ?u64 {
        return null;
    }
    pub fn sleepUntil(deadline_ns: u64) u64 {
        now = @max(now, deadline_ns);
        return now;
    }
    /// The gate's hold (gate.zig): a first clock read, then a spin until the clock shows `until_ns`.
    var hold_ns: u64 = 0;
    var released_ns: u64 = 0;
    /// What io_poll's return costs before the hold (kvm-pvm: ~170 emulated instructions, their
    /// time varying): `body_ns` and up to `body_jitter_ns` more, drawn from `prng`.
    var body_ns: u64 = 0;
    var body_jitter_ns: u64 = 0;
    var prng = std.Random.DefaultPrng.init(0x60d1);
    pub fn holdReturn(until_ns: u64) void {
        now += body_ns + if (body_jitter_ns > 0) prng.random().uintLessThan(u64, body_jitter_ns) else 0;
        hold_ns = nowNs();
        now = @max(now, until_ns);
        released_ns = now;
    }
    pub fn consoleWrite(_: []const u8) void {}
    pub fn randomWord() ?u64 {
        return 0x5eed;
    }
    pub fn ready() u64 {
        return 0;
    }
    pub var last_notice: [320]u8 = undefined;
    pub var last_notice_len: usize = 0;
    pub var notices: usize = 0;
    pub fn notice(line: []const u8) void {
        @memcpy(last_notice[0..line.len], line);
        last_notice_len = line.len;
        notices += 1;
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
    const window_base: u64 = 0x40_0000_0000;
    var window_end: u64 = window_base + (64 << 20);
    var unmapped: u64 = 0;
    pub fn memMap(m: *const mem_map.Mappings, len: u64) ?mem_map.Mapped {
        const alignment = if (len % mem_map.large_page_bytes == 0) mem_map.large_page_bytes else mem_map.page_bytes;
        const addr = m.place(len, alignment, window_base, window_end) orelse return null;
        // Memory at the first address was handed out and given back before: say it is dirty.
        return .{ .addr = addr, .dirty = if (addr == window_base) .{ .addr = addr, .len = len } else .{ .addr = 0, .len = 0 } };
    }
    pub fn memUnmap(_: u64, len: u64) void {
        unmapped += len;
    }
    pub const nic = no_frame_device;
    pub fn libraryEvents(_: []n.Event) usize {
        return 0;
    }
    pub fn libraryWaiting() bool {
        return false;
    }
    pub var clock_published: ?bool = null;
    pub fn publishClock(time_active: bool) void {
        clock_published = time_active;
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
            const permission = objects.errorCode(error.Permission);
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

test "the clock page is published exactly while CAP_TIME is active: enter, enter without it, drop" {
    const C = Calls(TestPlatform);
    const b = TestPlatform.memory_base;
    C.init(n.Cap.log.bit() | n.Cap.time.bit());
    TestPlatform.clock_published = null;
    const l: u64 = @intCast(C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(n.Cap.log), 0, 0, 0).value);
    const t: u64 = @intCast(C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(n.Cap.time), 0, 0, 0).value);
    try std.testing.expectEqual(@as(?bool, null), TestPlatform.clock_published); // acquiring activates nothing
    std.mem.writeInt(u64, TestPlatform.memory[0..8], l, .little);
    try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_enter), b, 1, 0, 0).value);
    try std.testing.expectEqual(@as(?bool, false), TestPlatform.clock_published);
    // A refused cap_enter (a stale handle among them) changes nothing, the page included.
    TestPlatform.clock_published = null;
    std.mem.writeInt(u64, TestPlatform.memory[0..8], t, .little);
    std.mem.writeInt(u64, TestPlatform.memory[8..16], t +% 1, .little);
    try std.testing.expectEqual(objects.errorCode(error.BadHandle), C.call(@intFromEnum(n.Call.cap_enter), b, 2, 0, 0).value);
    try std.testing.expectEqual(@as(?bool, null), TestPlatform.clock_published);
    try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_enter), b, 1, 0, 0).value);
    try std.testing.expectEqual(@as(?bool, true), TestPlatform.clock_published);
    try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_drop), @intFromEnum(n.Cap.log), 0, 0, 0).value);
    try std.testing.expectEqual(@as(?bool, true), TestPlatform.clock_published);
    try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_drop), @intFromEnum(n.Cap.time), 0, 0, 0).value);
    try std.testing.expectEqual(@as(?bool, false), TestPlatform.clock_published);
}

test "typed decoding: a u32 argument is the low half of its register, lengths are refused before pointers" {
    const C = Calls(TestPlatform);
    const b = TestPlatform.memory_base;
    C.init(n.Cap.log.bit() | n.Cap.time.bit());
    const h: u64 = @intCast(C.call(@intFromEnum(n.Call.cap_acquire), @as(u64, @intFromEnum(n.Cap.log)) | (0xdead << 32), 0, 0, 0).value);
    const t: u64 = @intCast(C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(n.Cap.time), 0, 0, 0).value);
    std.mem.writeInt(u64, TestPlatform.memory[0..8], h, .little);
    std.mem.writeInt(u64, TestPlatform.memory[8..16], t, .little);
    try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.cap_enter), b, 2, 0, 0).value);
    // SysV leaves the high half of a uint32_t argument undefined: garbage there changes nothing.
    try std.testing.expectEqual(@as(i64, 0), C.call(@intFromEnum(n.Call.log), @as(u64, n.log_info) | (1 << 40), b, 4, 0).value);
    try std.testing.expect(C.call(@intFromEnum(n.Call.clock_now), @as(u64, n.clock_monotonic) | (7 << 32), 0, 0, 0).value >= 0);
    const invalid = objects.errorCode(error.Invalid);
    const bad_pointer = objects.errorCode(error.BadPointer);
    try std.testing.expectEqual(invalid, C.call(@intFromEnum(n.Call.log), 9, b, 4, 0).value);
    // A length over its limit is ERR_INVALID even with a null pointer: ranges before memory.
    try std.testing.expectEqual(invalid, C.call(@intFromEnum(n.Call.log), n.log_info, 0, n.max_log_bytes + 1, 0).value);
    try std.testing.expectEqual(bad_pointer, C.call(@intFromEnum(n.Call.log), n.log_info, 0, 4, 0).value);
    try std.testing.expectEqual(invalid, C.call(@intFromEnum(n.Call.cap_enter), 0, n.max_handles + 1, 0, 0).value);
    try std.testing.expectEqual(invalid, C.call(@intFromEnum(n.Call.io_poll), b, 0, 0, 0).value);
    try std.testing.expectEqual(invalid, C.call(@intFromEnum(n.Call.io_poll), b, 1, @bitCast(@as(i64, -2)), 0).value);
    // A huge max is clamped to 64 events (1 KiB), which fits the buffer: no pointer error.
    try std.testing.expectEqual(invalid, C.call(@intFromEnum(n.Call.io_poll), b, std.math.maxInt(u64), @bitCast(@as(i64, -1)), 0).value); // nothing registered: would wait for ever
    try std.testing.expectEqual(bad_pointer, C.call(@intFromEnum(n.Call.io_poll), b + 4000, std.math.maxInt(u64), 0, 0).value);
    try std.testing.expectEqual(objects.errorCode(error.NoSys), C.call(999, 0, 0, 0, 0).value);
}

test "descriptor arrays: the table and every range in it are checked, and counts are bounded" {
    const C = Calls(TestPlatform);
    const b = TestPlatform.memory_base;
    const table = TestPlatform.memory[0..64];
    const put = struct {
        fn f(t: []u8, i: usize, ptr: u64, len: u64) void {
            std.mem.writeInt(u64, t[i * 16 ..][0..8], ptr, .little);
            std.mem.writeInt(u64, t[i * 16 + 8 ..][0..8], len, .little);
        }
    }.f;
    put(table, 0, b + 1024, 100);
    put(table, 1, b + 2048, 0);
    put(table, 2, b + 3000, 1000);
    const v = try C.userInVec(4, b, 3);
    try std.testing.expectEqual(@as(usize, 3), v.len);
    try std.testing.expectEqual(b + 3000, v.items[2].addr);
    try std.testing.expectEqual(@as(u64, 1000), v.items[2].len);
    try std.testing.expectError(error.Invalid, C.userInVec(4, b, 5)); // more than the call's max
    try std.testing.expectError(error.BadPointer, C.userInVec(4, 0, 1)); // the table itself
    try std.testing.expectError(error.BadPointer, C.userInVec(4, b + 4096 - 8, 1)); // table runs off
    put(table, 1, b + 4000, 200); // one range runs off the memory
    try std.testing.expectError(error.BadPointer, C.userInVec(4, b, 3));
    const out = try C.userOutVec(4, b, 3); // output ranges are checked on use
    _ = try out.at(0);
    try std.testing.expectError(error.BadPointer, out.at(1));
    put(table, 1, std.math.maxInt(u64) - 8, 16); // one range wraps
    try std.testing.expectError(error.BadPointer, C.userInVec(4, b, 3));
    const copied = try C.userOutVec(4, b, 3);
    put(table, 1, b + 2048, 0); // a change after the copy changes nothing
    try std.testing.expectError(error.BadPointer, copied.at(1));
    try std.testing.expectError(error.Invalid, C.userOutVec(4, b, 5));
    put(table, 1, 0x100000, 8); // one range is not the caller's
    try std.testing.expectError(error.BadPointer, C.userInVec(4, b, 2));
    const empty = try C.userInVec(4, 0, 0); // no descriptors: no table to look at
    try std.testing.expectEqual(@as(usize, 0), empty.len);
}

test "mem_map: lengths refused before the limit, the limit before the machine, unmap only whole mappings" {
    const C = Calls(TestPlatform);
    C.init(0);
    C.limitMemory(8 << 20);
    const map: u64 = @intFromEnum(n.Call.mem_map);
    const unmap: u64 = @intFromEnum(n.Call.mem_unmap);
    const invalid = objects.errorCode(error.Invalid);
    const no_space = objects.errorCode(error.NoSpace);
    // No capability needed; bad lengths are invalid whatever the limit says.
    for ([_]u64{ 0, 1, 4095, 4097, n.max_map_bytes + 4096, std.math.maxInt(u64), std.math.maxInt(u64) - 4095 }) |len| {
        try std.testing.expectEqual(invalid, C.call(map, len, 0, 0, 0).value);
    }
    try std.testing.expectEqual(no_space, C.call(map, n.max_map_bytes, 0, 0, 0).value); // valid, over the limit
    const a = C.call(map, 2 << 20, 0, 0, 0);
    try std.testing.expectEqual(@as(i64, @intCast(TestPlatform.window_base)), a.value);
    try std.testing.expectEqual(@as(u64, 2 << 20), a.zero.len); // the platform said dirty: zero it
    const b = C.call(map, 6 << 20, 0, 0, 0);
    try std.testing.expect(b.value > a.value and b.zero.len == 0);
    try std.testing.expectEqual(no_space, C.call(map, 4096, 0, 0, 0).value); // exactly at the limit
    const a_addr: u64 = @intCast(a.value);
    try std.testing.expectEqual(invalid, C.call(unmap, a_addr, 4096, 0, 0).value); // part of it
    try std.testing.expectEqual(invalid, C.call(unmap, a_addr + 4096, (2 << 20) - 4096, 0, 0).value);
    try std.testing.expectEqual(invalid, C.call(unmap, a_addr, 3, 0, 0).value); // unaligned length
    try std.testing.expectEqual(invalid, C.call(unmap, TestPlatform.memory_base, 4096, 0, 0).value); // not mem_map's
    try std.testing.expectEqual(@as(i64, 0), C.call(unmap, a_addr, 2 << 20, 0, 0).value);
    try std.testing.expectEqual(invalid, C.call(unmap, a_addr, 2 << 20, 0, 0).value); // twice
    try std.testing.expectEqual(@as(u64, 2 << 20), TestPlatform.unmapped);
    // The room given back is mapped again, at the lowest address.
    try std.testing.expectEqual(a.value, C.call(map, 4096, 0, 0, 0).value);
    // The machine running out (the window here) is NoSpace too, and records nothing.
    C.limitMemory(mem_map.unlimited);
    TestPlatform.window_end = TestPlatform.window_base + (8 << 20);
    try std.testing.expectEqual(no_space, C.call(map, 4 << 20, 0, 0, 0).value);
    try std.testing.expectEqual(@as(usize, 2), C.mappings.count);
}

test "a refused capability is never silent, and is said once per kind and reason" {
    const C = Calls(TestPlatform);
    const P = TestPlatform;
    C.init(n.Cap.log.bit() | n.Cap.time.bit());
    C.policy_origin = .{ .name = "ukernel.toml", .fix = "capabilities.allow" };
    P.notices = 0;
    const permission = objects.errorCode(error.Permission);
    // Outside the policy: the line names the capability, what the policy allows and the fix.
    for (0..100) |_| try std.testing.expectEqual(permission, C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(n.Cap.net), 0, 0, 0).value);
    try std.testing.expectEqual(@as(usize, 1), P.notices);
    try std.testing.expectEqualStrings("zigu: capability \"net\" refused: ukernel.toml allows log,time; add \"net\" to capabilities.allow\n", P.last_notice[0..P.last_notice_len]);
    // A call whose capability is allowed but never entered.
    for (0..100) |_| try std.testing.expectEqual(permission, C.call(@intFromEnum(n.Call.timer_create), 0, 0, 0, 0).value);
    try std.testing.expectEqual(@as(usize, 2), P.notices);
    try std.testing.expectEqualStrings("zigu: timer_create refused: capability \"time\" is allowed but not active: the workload must cap_acquire it and cap_enter the handle first\n", P.last_notice[0..P.last_notice_len]);
    // A call whose capability the policy does not allow.
    _ = C.call(@intFromEnum(n.Call.random), TestPlatform.memory_base, 8, 0, 0);
    try std.testing.expectEqualStrings("zigu: random refused: it needs capability \"random\", which ukernel.toml does not allow (it allows log,time); add \"random\" to capabilities.allow\n", P.last_notice[0..P.last_notice_len]);
    // Dropped for good.
    _ = C.call(@intFromEnum(n.Call.cap_drop), @intFromEnum(n.Cap.log), 0, 0, 0);
    _ = C.call(@intFromEnum(n.Call.cap_acquire), @intFromEnum(n.Cap.log), 0, 0, 0);
    try std.testing.expectEqualStrings("zigu: capability \"log\" refused: the workload dropped it for good (cap_drop)\n", P.last_notice[0..P.last_notice_len]);
    try std.testing.expectEqual(@as(usize, 4), P.notices);
    // An empty policy says so; every kind at most twice in all.
    C.init(0);
    P.notices = 0;
    for (0..3) |_| {
        inline for (@typeInfo(n.Cap).@"enum".field_values) |kind| _ = C.call(@intFromEnum(n.Call.cap_acquire), kind, 0, 0, 0);
        inline for (@typeInfo(n.Call).@"enum".field_values) |nr| {
            if (comptime @as(n.Call, @enumFromInt(nr)).requiredCap() != null) _ = C.call(nr, 1, TestPlatform.memory_base, 8, 0);
        }
    }
    try std.testing.expect(P.notices <= 2 * @typeInfo(n.Cap).@"enum".field_values.len);
    _ = C.call(@intFromEnum(n.Call.cap_acquire), 99, 0, 0, 0); // unknown kind: invalid, no note
    try std.testing.expect(P.notices <= 2 * @typeInfo(n.Cap).@"enum".field_values.len);
}

/// For the io_poll timing tests: a call through the core on the test platform, its value.
fn testCall(which: n.Call, a0: u64, a1: u64, a2: u64) i64 {
    return Calls(TestPlatform).call(@intFromEnum(which), a0, a1, a2, 0).value;
}

/// For the io_poll timing tests: a fresh core with CAP_TIME entered and one timer registered
/// (user_data 7), set up with the clock standing still; the timer's handle.
fn registeredTimer() !u64 {
    const b = TestPlatform.memory_base;
    Calls(TestPlatform).init(n.Cap.time.bit());
    TestPlatform.step = 0;
    const cap: u64 = @intCast(testCall(.cap_acquire, @intFromEnum(n.Cap.time), 0, 0));
    std.mem.writeInt(u64, TestPlatform.memory[0..8], cap, .little);
    try std.testing.expectEqual(@as(i64, 0), testCall(.cap_enter, b, 1, 0));
    const t: u64 = @intCast(testCall(.timer_create, 0, 0, 0));
    try std.testing.expectEqual(@as(i64, 0), testCall(.io_register, t, n.ev_readable, 7));
    return t;
}

/// What the guest's gate does at the entry after io_poll returned: hands its hold's stamps and
/// the return stamp over (the test platform's clock, one read on).
fn pollReturnedAtNextEntry() void {
    const C = Calls(TestPlatform);
    std.debug.assert(C.poll_return_pending);
    C.pollReturned(TestPlatform.hold_ns, TestPlatform.released_ns, TestPlatform.nowNs());
}

test "io_poll leads its deadlines by the time its returns take when they are slow: never early, less late" {
    const P = TestPlatform;
    const call = testCall;
    const returned = pollReturnedAtNextEntry;
    const b = P.memory_base;
    defer P.step = 0;
    // Each clock read 60 µs on (kvm-pvm-like: a return of io_poll is slow), then 2 µs (TCG-like).
    for ([_]u64{ 60_000, 2_000 }) |step| {
        const t = try registeredTimer();
        P.step = step;
        for (0..20) |round| {
            try std.testing.expectEqual(@as(i64, 0), call(.timer_arm, t, 1_000_000, 0));
            const deadline = P.now + 1_000_000; // the arm read the clock once: now is that reading
            try std.testing.expectEqual(@as(i64, 1), call(.io_poll, b, 1, @bitCast(n.timeout_infinite)));
            returned();
            try std.testing.expectEqual(@as(u64, 7), std.mem.readInt(u64, P.memory[0..8], .little));
            // Ring 3 runs again at P.now (the return's stamp): never before the deadline.
            try std.testing.expect(P.now >= deadline);
            const late = P.now - deadline;
            // Led (after 8 slow returns): on time, the return held until its tail's time is
            // left. Not led: the wake at the deadline, then the whole return (the hold's read
            // and the return stamp's).
            const led = step >= 25_000 and round >= 8;
            try std.testing.expectEqual(if (led) 0 else 2 * step, late);
        }
        // A timeout: the same, with its own lead.
        for (0..20) |round| {
            const start = P.now;
            try std.testing.expectEqual(@as(i64, 0), call(.io_poll, b, 1, 1_000_000));
            returned();
            const deadline = start + step + 1_000_000; // io_poll's first read is its start
            try std.testing.expect(P.now >= deadline);
            const led = step >= 25_000 and round >= 8;
            try std.testing.expectEqual(if (led) 0 else 2 * step, P.now - deadline);
        }
    }
}

test "io_poll holds a return whose time varies until its deadline: never early, on time" {
    const P = TestPlatform;
    const call = testCall;
    const b = P.memory_base;
    defer {
        P.step = 0;
        P.body_ns = 0;
        P.body_jitter_ns = 0;
    }
    const t = try registeredTimer();
    // kvm-pvm-like: each clock read 5 µs on, a return's body 200-300 µs, its tail one read.
    P.step = 5_000;
    P.body_ns = 200_000;
    P.body_jitter_ns = 100_000;
    var late: [64]u64 = undefined;
    for (0..16 + late.len) |round| {
        try std.testing.expectEqual(@as(i64, 0), call(.timer_arm, t, 1_000_000, 0));
        const deadline = P.now + 1_000_000;
        try std.testing.expectEqual(@as(i64, 1), call(.io_poll, b, 1, @bitCast(n.timeout_infinite)));
        pollReturnedAtNextEntry();
        try std.testing.expect(P.now >= deadline); // never early
        if (round >= 16) late[round - 16] = P.now - deadline;
    }
    // Led by the body's peak and held: on time but for a body that outran the peak (looking
    // ahead by the shortest return instead, the median was the body's spread, ~50 µs).
    std.mem.sort(u64, &late, {}, std.sort.asc(u64));
    try std.testing.expectEqual(@as(u64, 0), late[late.len / 2]);
    try std.testing.expect(late[late.len - 1] <= 100_000);
}
