//! The ABI's core: capabilities, the handle table, timers and the poll set. Pure: no arch code,
//! time is an argument, and everything from ring 3 has been validated (syscalls.zig) before it
//! gets here, so `zig build test` runs all of it on the host.
const std = @import("std");
const assert = std.debug.assert;
pub const numbers = @import("abi_numbers.zig");
const Cap = numbers.Cap;

pub const Error = error{ Permission, BadHandle, BadPointer, Invalid, NoSpace, NoSys, Unsupported, Exists };

/// The negative code a call returns for `err`.
pub fn errorCode(err: Error) i64 {
    const e: numbers.Error = switch (err) {
        error.Permission => .permission,
        error.BadHandle => .bad_handle,
        error.BadPointer => .bad_pointer,
        error.Invalid => .invalid,
        error.NoSpace => .no_space,
        error.NoSys => .no_sys,
        error.Unsupported => .unsupported,
        error.Exists => .exists,
    };
    return @intFromEnum(e);
}

pub const max_handles: usize = numbers.max_handles;

/// Capability kinds this kernel knows (numbers.Cap is non-exhaustive: ring 3 can pass anything).
pub fn knownCap(kind: u64) ?Cap {
    inline for (@typeInfo(Cap).@"enum".field_values) |value| {
        if (kind == value) return @enumFromInt(value);
    }
    return null;
}

/// A mask of capability kinds from their names ("log,time"), for policies given as text.
pub fn policyFromNames(names: []const u8) error{UnknownCapability}!u64 {
    var mask: u64 = 0;
    var it = std.mem.tokenizeScalar(u8, names, ',');
    while (it.next()) |name| {
        const kind = std.meta.stringToEnum(Cap, name) orelse return error.UnknownCapability;
        mask |= kind.bit();
    }
    return mask;
}

/// A root image's policy file (`ukernel pack` writes it): the capability names on the first line,
/// then optional `key=value` lines: `memory_limit_mib`, and the network policy's `net.*` keys
/// (left to netpolicy.zig). Values stay text.
pub const PolicyFile = struct { names: []const u8, memory_limit_mib: ?[]const u8 = null };

pub fn splitPolicyFile(text: []const u8) error{ UnknownPolicyKey, DuplicatePolicyKey }!PolicyFile {
    var lines = std.mem.splitScalar(u8, text, '\n');
    var file = PolicyFile{ .names = std.mem.trim(u8, lines.first(), " \t\r") };
    while (lines.next()) |raw_line| {
        const line = std.mem.trim(u8, raw_line, " \t\r");
        if (line.len == 0) continue;
        const eq = std.mem.indexOfScalar(u8, line, '=') orelse return error.UnknownPolicyKey;
        const key = std.mem.trim(u8, line[0..eq], " \t");
        if (std.mem.startsWith(u8, key, "net.")) continue; // the network policy's: netpolicy.zig reads them
        if (!std.mem.eql(u8, key, "memory_limit_mib")) return error.UnknownPolicyKey;
        if (file.memory_limit_mib != null) return error.DuplicatePolicyKey;
        file.memory_limit_mib = std.mem.trim(u8, line[eq + 1 ..], " \t");
    }
    return file;
}

/// Largest memory limit in MiB (the largest guest `ukernel.toml` allows).
pub const max_memory_limit_mib: u64 = 16384;

/// A memory limit given in MiB as decimal text, in bytes: 1 to max_memory_limit_mib.
pub fn memoryLimitBytes(mib_text: []const u8) error{BadMemoryLimit}!u64 {
    const mib = std.fmt.parseInt(u64, mib_text, 10) catch return error.BadMemoryLimit;
    if (mib == 0 or mib > max_memory_limit_mib) return error.BadMemoryLimit;
    return mib << 20;
}

pub const ObjectType = enum(u8) { capability = 1, timer = 2, task = 3, netdev = 4 };

/// The first type tag a ring-3 library may use for its own handles (the network library's
/// sockets): the kernel never makes one, so such a value is never a kernel handle.
pub const first_library_type: u8 = 16;

/// Handle layout: slot in bits 0..15, object type in 16..23, generation in 24..54. Bit 63 stays
/// clear so a handle is a positive i64; generation 0 never occurs, so 0 is never a handle.
const slot_bits = 16;
const type_shift = 16;
const generation_shift = 24;
/// A slot whose generation reaches this is retired for good rather than wrapped: no handle value
/// can ever be accepted for a different object.
const max_generation: u32 = (1 << 31) - 1;

comptime {
    assert(max_handles <= 1 << slot_bits);
}

fn encode(slot: usize, kind: ObjectType, generation: u32) u64 {
    return @as(u64, slot) | (@as(u64, @intFromEnum(kind)) << type_shift) | (@as(u64, generation) << generation_shift);
}

const Timer = struct {
    armed: bool = false,
    deadline_ns: u64 = 0,
    period_ns: u64 = 0,
};

const Object = union(ObjectType) {
    capability: Cap,
    timer: Timer,
    /// Index into Core.tasks.
    task: u16,
    /// The network device (one handle at a time): ready as the platform says (`net_ready`).
    netdev: void,
};

pub const max_tasks: usize = numbers.max_tasks;

const ReadyTimer = struct { deadline: u64, index: u16 };

pub const TaskState = enum { free, ready, polling, joining, exited };

/// A cooperative task of the workload. Its registers live with the platform (the guest keeps one
/// trap frame per task); the core decides which task runs.
pub const Task = struct {
    state: TaskState = .free,
    exit_status: u8 = 0,
    /// While in io_poll: when the call gives up (null: never). Kept across retries so that a poll
    /// resumed after other tasks ran still ends at its first deadline.
    poll_deadline: ?u64 = null,
    in_poll: bool = false,
    join_target: u16 = 0,
    /// Its handle was closed: the task slot is freed as soon as the task has ended.
    orphaned: bool = false,
    /// Its end was reported through io_poll (once).
    end_reported: bool = false,
};

const Slot = struct {
    generation: u32 = 0,
    object: ?Object = null,
    retired: bool = false,
    registered: bool = false,
    /// Closed while registered: the slot stays out of use (no object, refused as a handle) until
    /// io_poll has reported the hang-up, so pending hang-ups are bounded by the table itself.
    hangup_pending: bool = false,
    interest: u32 = 0,
    user_data: u64 = 0,
};

pub const Core = struct {
    /// Kinds the workload may acquire.
    policy: u64,
    /// Kinds whose calls are allowed now.
    active: u64 = 0,
    /// Kinds given up for good.
    dropped: u64 = 0,
    /// Only [0, next_fresh) is ever read: a slot is set up when first handed out, not at init.
    slots: [max_handles]Slot = undefined,
    /// Closed slots ready for reuse; slots at and above `next_fresh` were never used.
    free: [max_handles]u16 = undefined,
    free_count: usize = 0,
    next_fresh: usize = 0,
    retired_count: usize = 0,
    live_count: usize = 0,
    /// Slots of registered handles, unordered: io_poll looks at these only. Ring-0 code is
    /// emulated under kvm-pvm, and scanning the whole table on every poll cost ~1.3 ms.
    registered: [max_handles]u16 = undefined,
    registered_count: usize = 0,
    /// Slots closed while registered, waiting for io_poll to report their hang-up.
    zombie_count: usize = 0,
    /// Scratch for poll's ready timers. A field, not a local: a safety-checked build fills every
    /// `undefined` local with 0xAA, and 4 KiB filled in ring 0 on every io_poll cost ~1.2 ms per
    /// wake-up under kvm-pvm (emulated stores).
    ready_scratch: [max_handles]ReadyTimer = undefined,
    /// The latest deadline among the timer events the last `poll` returned (0: none): a poll that
    /// looked ahead of the clock (io_poll's lead) must not let ring 3 see them before it.
    polled_deadline_ns: u64 = 0,
    /// Task 0 is the workload's initial task; it is never freed and ends only with exit.
    tasks: [max_tasks]Task = @splat(.{}),
    current: u16 = 0,
    /// Tasks in each state, so that the common single-task case never scans the task table:
    /// ring-0 code is emulated under kvm-pvm, and the scans cost ~0.8 ms per io_poll.
    ready_count: usize = 0,
    polling_count: usize = 0,
    joining_count: usize = 0,
    /// Ended tasks whose handle is still open: io_poll looks for ended tasks only when there is one.
    exited_count: usize = 0,
    /// Readiness of the network device (EV_READABLE | EV_WRITABLE), set by the platform before
    /// each poll; the device's handle, when one is open (0: none).
    net_ready: u32 = 0,
    net_handle: u64 = 0,

    /// In place: a Core is ~14 KiB, and Debug builds copy returned values several times over.
    /// Sets the scalars and the task table only: writing the whole ~14 KiB Core (every slot's
    /// defaults) cost 9 ms of boot under kvm-pvm, where each ring-0 store is emulated.
    pub fn init(self: *Core, policy: u64) void {
        self.policy = policy;
        self.active = 0;
        self.dropped = 0;
        self.free_count = 0;
        self.next_fresh = 0;
        self.retired_count = 0;
        self.live_count = 0;
        self.registered_count = 0;
        self.zombie_count = 0;
        self.tasks = @splat(.{});
        self.current = 0;
        self.ready_count = 0;
        self.polling_count = 0;
        self.joining_count = 0;
        self.exited_count = 0;
        self.net_ready = 0;
        self.net_handle = 0;
        self.setState(0, .ready);
    }

    fn counter(self: *Core, state: TaskState) ?*usize {
        return switch (state) {
            .ready => &self.ready_count,
            .polling => &self.polling_count,
            .joining => &self.joining_count,
            .exited => &self.exited_count,
            .free => null,
        };
    }

    /// Every task state change goes through here, keeping the counts true.
    fn setState(self: *Core, index: u16, state: TaskState) void {
        const task = &self.tasks[index];
        if (self.counter(task.state)) |c| c.* -= 1;
        if (self.counter(state)) |c| c.* += 1;
        task.state = state;
    }

    /// Every slot is live, free, never used, or retired.
    pub fn slotsAccountedFor(self: *const Core) bool {
        return self.live_count + self.free_count + (max_handles - self.next_fresh) + self.retired_count + self.zombie_count == max_handles;
    }

    pub fn check(self: *const Core, cap: Cap) Error!void {
        if (self.active & cap.bit() == 0) return error.Permission;
        assert(self.dropped & cap.bit() == 0);
    }

    fn alloc(self: *Core, object: Object) Error!u64 {
        const index: usize = if (self.free_count > 0) blk: {
            self.free_count -= 1;
            break :blk self.free[self.free_count];
        } else if (self.next_fresh < max_handles) blk: {
            self.slots[self.next_fresh] = .{};
            self.next_fresh += 1;
            break :blk self.next_fresh - 1;
        } else return error.NoSpace;
        const slot = &self.slots[index];
        assert(slot.object == null and !slot.retired and !slot.registered);
        slot.generation += 1;
        slot.object = object;
        self.live_count += 1;
        return encode(index, object, slot.generation);
    }

    /// The slot behind a live handle of type `kind` (any type when null).
    fn lookup(self: *Core, handle: u64, kind: ?ObjectType) Error!*Slot {
        const index: usize = @intCast(handle & ((1 << slot_bits) - 1));
        if (index >= self.next_fresh) return error.BadHandle; // never handed out (not even set up)
        const slot = &self.slots[index];
        const object = slot.object orelse return error.BadHandle;
        if (handle != encode(index, object, slot.generation)) return error.BadHandle;
        if (kind) |k| if (object != k) return error.BadHandle;
        return slot;
    }

    pub fn capAcquire(self: *Core, kind: u64) Error!u64 {
        const cap = knownCap(kind) orelse return error.Invalid;
        if (self.policy & cap.bit() == 0 or self.dropped & cap.bit() != 0) return error.Permission;
        return self.alloc(.{ .capability = cap });
    }

    /// All or none: every handle is checked before any capability is activated.
    pub fn capEnter(self: *Core, handles: []const u64) Error!void {
        var mask: u64 = 0;
        for (handles) |h| {
            const slot = try self.lookup(h, .capability);
            const cap = slot.object.?.capability;
            if (self.dropped & cap.bit() != 0) return error.Permission;
            mask |= cap.bit();
        }
        assert(mask & ~self.policy == 0);
        self.active |= mask;
    }

    pub fn capDrop(self: *Core, kind: u64) Error!void {
        const cap = knownCap(kind) orelse return error.Invalid;
        self.active &= ~cap.bit();
        self.dropped |= cap.bit();
    }

    pub fn close(self: *Core, handle: u64) Error!void {
        const slot = try self.lookup(handle, null);
        const index: u16 = @intCast(handle & ((1 << slot_bits) - 1));
        if (slot.object.? == .netdev) self.net_handle = 0;
        if (slot.object.? == .task) {
            const task = &self.tasks[slot.object.?.task];
            if (task.state == .exited) self.freeTask(slot.object.?.task) else task.orphaned = true;
        }
        self.live_count -= 1;
        if (slot.registered) {
            // Stays in the registration list, objectless, until its hang-up is reported.
            slot.object = null;
            slot.hangup_pending = true;
            self.zombie_count += 1;
            self.wakePollers(); // a hang-up to report
            return;
        }
        self.release(index);
    }

    /// Puts a slot without an object back in use (or retires it for good).
    fn release(self: *Core, index: u16) void {
        const slot = &self.slots[index];
        slot.* = .{ .generation = slot.generation, .retired = slot.generation == max_generation };
        if (slot.retired) {
            self.retired_count += 1;
        } else {
            self.free[self.free_count] = index;
            self.free_count += 1;
        }
    }

    fn dropRegistration(self: *Core, index: u16) void {
        for (self.registered[0..self.registered_count], 0..) |r, i| {
            if (r != index) continue;
            self.registered_count -= 1;
            self.registered[i] = self.registered[self.registered_count];
            self.slots[index].registered = false;
            return;
        }
        unreachable; // a slot marked registered is always in the list
    }

    /// A handle on the network device; one at a time.
    pub fn netOpen(self: *Core) Error!u64 {
        if (self.net_handle != 0) return error.Exists;
        self.net_handle = try self.alloc(.{ .netdev = {} });
        return self.net_handle;
    }

    pub fn netLookup(self: *Core, handle: u64) Error!void {
        _ = try self.lookup(handle, .netdev);
    }

    /// Whether the network device's handle is registered (io_poll can then be woken by it).
    pub fn netRegistered(self: *Core) bool {
        if (self.net_handle == 0) return false;
        const slot = self.lookup(self.net_handle, .netdev) catch return false;
        return slot.registered;
    }

    pub fn timerCreate(self: *Core) Error!u64 {
        return self.alloc(.{ .timer = .{} });
    }

    /// Fires `delay_ns` after `now_ns`, then every `period_ns` if that is non-zero; 0 and 0 disarms.
    pub fn timerArm(self: *Core, handle: u64, now_ns: u64, delay_ns: u64, period_ns: u64) Error!void {
        const slot = try self.lookup(handle, .timer);
        const timer = &slot.object.?.timer;
        if (delay_ns == 0 and period_ns == 0) {
            timer.* = .{};
            return;
        }
        timer.* = .{ .armed = true, .deadline_ns = now_ns +| delay_ns, .period_ns = period_ns };
    }

    pub fn register(self: *Core, handle: u64, interest: u64, user_data: u64) Error!void {
        const known = numbers.ev_readable | numbers.ev_writable;
        if (interest == 0 or interest & ~@as(u64, known) != 0) return error.Invalid;
        const slot = try self.lookup(handle, null);
        switch (slot.object.?) {
            .capability => return error.Invalid, // never ready: nothing to wait for
            // Timers fire and tasks end: they only ever become readable, so an interest without
            // readable would wait for nothing (and a due timer would wake io_poll for ever).
            .timer, .task => if (interest & numbers.ev_readable == 0) return error.Invalid,
            .netdev => {},
        }
        if (slot.registered) return error.Exists;
        assert(self.registered_count < max_handles);
        slot.registered = true;
        slot.interest = @intCast(interest);
        slot.user_data = user_data;
        self.registered[self.registered_count] = @intCast(handle & ((1 << slot_bits) - 1));
        self.registered_count += 1;
    }

    pub fn unregister(self: *Core, handle: u64) Error!void {
        const slot = try self.lookup(handle, null);
        if (!slot.registered) return error.Invalid;
        self.dropRegistration(@intCast(handle & ((1 << slot_bits) - 1)));
    }

    /// The earliest deadline among registered, armed timers.
    pub fn nextDeadline(self: *const Core) ?u64 {
        var best: ?u64 = null;
        for (self.registered[0..self.registered_count]) |index| {
            const slot = &self.slots[index];
            assert(slot.registered);
            const timer = switch (slot.object orelse continue) {
                .timer => |t| t,
                else => continue,
            };
            if (timer.armed and (best == null or timer.deadline_ns < best.?)) best = timer.deadline_ns;
        }
        return best;
    }

    // ---- tasks ---------------------------------------------------------------------------------

    pub fn taskSpawn(self: *Core) Error!struct { handle: u64, index: u16 } {
        const index: u16 = for (self.tasks[1..], 1..) |t, i| {
            if (t.state == .free) break @intCast(i);
        } else return error.NoSpace;
        const handle = try self.alloc(.{ .task = index });
        self.tasks[index] = .{};
        self.setState(index, .ready);
        return .{ .handle = handle, .index = index };
    }

    /// Ends the running task (never the initial one); its joiners become ready.
    pub fn taskExit(self: *Core, status: u8) Error!void {
        if (self.current == 0) return error.Invalid;
        const task = &self.tasks[self.current];
        assert(task.state == .ready);
        self.setState(self.current, .exited);
        task.exit_status = status;
        self.wakePollers(); // its handle may be registered: an event to report
        if (self.joining_count > 0) {
            for (&self.tasks, 0..) |*t, i| {
                if (t.state == .joining and t.join_target == self.current) self.setState(@intCast(i), .ready);
            }
        }
        if (task.orphaned) self.freeTask(self.current);
    }

    /// An ended task whose handle is closed: its entry is free for the next task_spawn.
    fn freeTask(self: *Core, index: u16) void {
        assert(self.tasks[index].state == .exited);
        self.setState(index, .free);
        self.tasks[index] = .{};
    }

    /// The task's status if it has ended; otherwise null, and the running task waits for it.
    pub fn taskJoin(self: *Core, handle: u64) Error!?u8 {
        const slot = try self.lookup(handle, .task);
        const index = slot.object.?.task;
        if (index == self.current) return error.Invalid; // would wait for ever
        const target = self.tasks[index];
        if (target.state == .exited) return target.exit_status;
        self.setState(self.current, .joining);
        self.tasks[self.current].join_target = index;
        return null;
    }

    /// The next task to run, round robin after the running one (which may itself be the answer).
    pub fn pickNext(self: *const Core) ?u16 {
        if (self.ready_count == 0) return null;
        if (self.ready_count == 1 and self.tasks[self.current].state == .ready) return self.current;
        var i: usize = 1;
        while (i <= max_tasks) : (i += 1) {
            const index: u16 = @intCast((self.current + i) % max_tasks);
            if (self.tasks[index].state == .ready) return index;
        }
        return null;
    }

    pub fn otherTaskReady(self: *const Core) bool {
        return self.ready_count > @intFromBool(self.tasks[self.current].state == .ready);
    }

    /// The running task starts (or resumes) an io_poll: the deadline of its first attempt holds.
    pub fn pollDeadline(self: *Core, now_ns: u64, timeout_ns: i64) ?u64 {
        const task = &self.tasks[self.current];
        if (!task.in_poll) {
            task.in_poll = true;
            task.poll_deadline = if (timeout_ns == numbers.timeout_infinite) null else now_ns +| @as(u64, @intCast(timeout_ns));
        }
        return task.poll_deadline;
    }

    pub fn pollDone(self: *Core) void {
        self.tasks[self.current].in_poll = false;
    }

    /// The running task waits in io_poll until an event or its deadline; another task runs.
    pub fn blockInPoll(self: *Core) void {
        assert(self.tasks[self.current].in_poll);
        self.setState(self.current, .polling);
    }

    /// The earliest deadline of tasks waiting in io_poll, other than the running one.
    pub fn pollersDeadline(self: *const Core) ?u64 {
        if (self.polling_count == 0) return null;
        var best: ?u64 = null;
        for (self.tasks, 0..) |t, i| {
            if (i == self.current or t.state != .polling) continue;
            const d = t.poll_deadline orelse continue;
            if (best == null or d < best.?) best = d;
        }
        return best;
    }

    /// With no task ready: the next task waiting in io_poll (round robin) is made ready, to wait
    /// for all of them (its poll sleeps until the earliest deadline of every poller and timer).
    pub fn wakeOnePoller(self: *Core) ?u16 {
        if (self.polling_count == 0) return null;
        var i: usize = 1;
        while (i <= max_tasks) : (i += 1) {
            const index: u16 = @intCast((self.current + i) % max_tasks);
            if (self.tasks[index].state == .polling) {
                self.setState(index, .ready);
                return index;
            }
        }
        unreachable; // polling_count said there was one
    }

    /// Whether a task waiting in io_poll has something to see at `now_ns`: its own deadline has
    /// passed, or a registered timer is due. Other events (hang-ups, ended tasks) wake the pollers
    /// where they happen. Asked on every task_yield, so that tasks that keep yielding to each
    /// other never starve a poller.
    pub fn pollersDue(self: *const Core, now_ns: u64) bool {
        if (self.polling_count == 0) return false;
        if (self.nextDeadline()) |d| if (d <= now_ns) return true;
        for (self.tasks) |t| {
            if (t.state == .polling) if (t.poll_deadline) |d| if (d <= now_ns) return true;
        }
        return false;
    }

    /// After time has passed or events may have arrived: every task waiting in io_poll retries.
    pub fn wakePollers(self: *Core) void {
        if (self.polling_count == 0) return;
        for (&self.tasks, 0..) |*t, i| {
            if (t.state == .polling) self.setState(@intCast(i), .ready);
        }
    }

    /// Ready events at `now_ns`, earliest timer deadline first, at most out.len of them. Events
    /// not returned stay ready for the next call. Hang-ups of closed registrations come first.
    pub fn poll(self: *Core, now_ns: u64, out: []numbers.Event) usize {
        var count: usize = 0;
        self.polled_deadline_ns = 0;
        var i: usize = 0;
        while (i < self.registered_count and count < out.len and self.zombie_count > 0) {
            const index = self.registered[i];
            const slot = &self.slots[index];
            if (!slot.hangup_pending) {
                i += 1;
                continue;
            }
            out[count] = .{ .user_data = slot.user_data, .events = numbers.ev_hangup };
            count += 1;
            self.dropRegistration(index); // moves the last registration to position i
            self.zombie_count -= 1;
            self.release(index);
        }
        const ready = &self.ready_scratch;
        var ready_count: usize = 0;
        for (self.registered[0..self.registered_count]) |index| {
            const slot = &self.slots[index];
            assert(slot.registered);
            if (slot.interest & numbers.ev_readable == 0) continue;
            const timer = switch (slot.object orelse continue) {
                .timer => |t| t,
                else => continue,
            };
            if (!timer.armed or timer.deadline_ns > now_ns) continue;
            // Insertion keeps (deadline, slot) order; at most max_handles entries.
            var at = ready_count;
            while (at > 0 and ready[at - 1].deadline > timer.deadline_ns) : (at -= 1) ready[at] = ready[at - 1];
            ready[at] = .{ .deadline = timer.deadline_ns, .index = index };
            ready_count += 1;
        }
        // The network device: level-triggered, as the platform last saw it.
        if (self.net_ready != 0 and count < out.len and self.net_handle != 0) {
            if (self.lookup(self.net_handle, .netdev)) |slot| {
                const ev = slot.interest & self.net_ready;
                if (slot.registered and ev != 0) {
                    out[count] = .{ .user_data = slot.user_data, .events = ev };
                    count += 1;
                }
            } else |_| {}
        }
        // Ended tasks whose handle is registered: readable and hung up, reported once.
        for (self.registered[0..if (self.exited_count > 0) self.registered_count else 0]) |index| {
            if (count == out.len) break;
            const slot = &self.slots[index];
            const task = switch (slot.object orelse continue) {
                .task => |t| &self.tasks[t],
                else => continue,
            };
            if (task.state != .exited or task.end_reported) continue;
            task.end_reported = true;
            out[count] = .{ .user_data = slot.user_data, .events = numbers.ev_readable | numbers.ev_hangup };
            count += 1;
        }
        for (ready[0..@min(ready_count, out.len - count)]) |r| {
            const slot = &self.slots[r.index];
            const timer = &slot.object.?.timer;
            out[count] = .{ .user_data = slot.user_data, .events = numbers.ev_readable | numbers.ev_timer };
            count += 1;
            self.polled_deadline_ns = timer.deadline_ns; // in ascending order: the last is the latest
            if (timer.period_ns == 0) {
                timer.armed = false;
            } else {
                // Periods missed while nobody polled collapse into this one event. Ring 3 picks
                // the period: past the end of the clock (u64 ns, 584 years) the deadline stays at
                // its end, as timerArm's delay does, rather than wrapping into the past.
                const missed = (now_ns - timer.deadline_ns) / timer.period_ns;
                const advance_ns = std.math.mul(u64, missed + 1, timer.period_ns) catch std.math.maxInt(u64);
                timer.deadline_ns +|= advance_ns;
                assert(timer.deadline_ns > now_ns or now_ns == std.math.maxInt(u64));
            }
        }
        return count;
    }
};

// ---- tests -------------------------------------------------------------------------------------

const testing = std.testing;
const all_caps = Cap.log.bit() | Cap.time.bit() | Cap.random.bit();

test "a capability must be in the policy, acquired and entered before its calls pass" {
    var core: Core = undefined;
    core.init(Cap.log.bit() | Cap.time.bit());
    try testing.expectError(error.Permission, core.check(.log)); // not acquired
    const h = try core.capAcquire(@intFromEnum(Cap.log));
    try testing.expectError(error.Permission, core.check(.log)); // acquired, not entered
    try core.capEnter(&.{h});
    try core.check(.log);
    try testing.expectError(error.Permission, core.check(.time));
    try testing.expectError(error.Permission, core.capAcquire(@intFromEnum(Cap.net))); // outside policy
    try testing.expectError(error.Invalid, core.capAcquire(99));
    try core.capDrop(@intFromEnum(Cap.log));
    try testing.expectError(error.Permission, core.check(.log)); // dropped
    try testing.expectError(error.Permission, core.capEnter(&.{h})); // never again
    try testing.expectError(error.Permission, core.capAcquire(@intFromEnum(Cap.log)));
}

test "cap_enter is all or none" {
    var core: Core = undefined;
    core.init(all_caps);
    const log = try core.capAcquire(@intFromEnum(Cap.log));
    try testing.expectError(error.BadHandle, core.capEnter(&.{ log, 12345 }));
    try testing.expectError(error.Permission, core.check(.log));
}

test "stale, forged and wrong-type handles are refused" {
    var core: Core = undefined;
    core.init(all_caps);
    const timer = try core.timerCreate();
    const cap = try core.capAcquire(@intFromEnum(Cap.time));
    try testing.expectError(error.BadHandle, core.timerArm(cap, 0, 1, 0)); // wrong type
    try testing.expectError(error.BadHandle, core.capEnter(&.{timer}));
    try testing.expectError(error.BadHandle, core.close(0));
    try testing.expectError(error.BadHandle, core.close(timer ^ (1 << 40))); // forged generation
    try testing.expectError(error.BadHandle, core.close((timer & ~@as(u64, 0xFFFF)) | 0xFFFF)); // slot out of range
    try core.close(timer);
    try testing.expectError(error.BadHandle, core.close(timer)); // stale
    const again = try core.timerCreate(); // same slot, next generation
    try testing.expect(again != timer);
    try testing.expectError(error.BadHandle, core.timerArm(timer, 0, 1, 0));
    try core.timerArm(again, 0, 1, 0);
}

test "the handle table fills up with NoSpace and recovers after close" {
    var core: Core = undefined;
    core.init(all_caps);
    var handles: [max_handles]u64 = undefined;
    for (&handles) |*h| h.* = try core.timerCreate();
    try testing.expectError(error.NoSpace, core.timerCreate());
    try core.close(handles[7]);
    _ = try core.timerCreate();
}

test "io_poll returns timers in deadline order, leaves the rest ready, and honours periods" {
    var core: Core = undefined;
    core.init(all_caps);
    var t: [3]u64 = undefined;
    for (&t, 0..) |*h, i| {
        h.* = try core.timerCreate();
        try core.register(h.*, numbers.ev_readable, 100 + i);
    }
    try core.timerArm(t[0], 0, 30, 0);
    try core.timerArm(t[1], 0, 10, 0);
    try core.timerArm(t[2], 0, 20, 5);
    try testing.expectEqual(@as(?u64, 10), core.nextDeadline());
    var ev: [2]numbers.Event = undefined;
    try testing.expectEqual(@as(usize, 0), core.poll(9, &ev));
    try testing.expectEqual(@as(usize, 2), core.poll(40, &ev));
    try testing.expectEqual(@as(u64, 101), ev[0].user_data);
    try testing.expectEqual(@as(u64, 102), ev[1].user_data);
    try testing.expectEqual(numbers.ev_readable | numbers.ev_timer, ev[0].events);
    try testing.expectEqual(@as(usize, 1), core.poll(40, &ev)); // t0 was left ready
    try testing.expectEqual(@as(u64, 100), ev[0].user_data);
    try testing.expectEqual(@as(?u64, 45), core.nextDeadline()); // periodic t2: 20 -> 25..40 missed -> 45
    try testing.expectEqual(@as(usize, 0), core.poll(44, &ev));
    try testing.expectEqual(@as(usize, 1), core.poll(45, &ev));
}

test "a periodic timer with a huge period fires once and then waits at the end of the clock" {
    var core: Core = undefined;
    core.init(all_caps);
    const max = std.math.maxInt(u64);
    for ([_]u64{ max, max - 1, 1 << 63, (1 << 63) + 12345 }) |period| {
        const t = try core.timerCreate();
        try core.register(t, numbers.ev_readable, 1);
        try core.timerArm(t, 1000, 1, period);
        var ev: [2]numbers.Event = undefined;
        try testing.expectEqual(@as(usize, 1), core.poll(5000, &ev));
        try testing.expectEqual(@as(usize, 0), core.poll(10_000_000, &ev));
        try testing.expect(core.nextDeadline().? > 10_000_000);
        // Many periods missed at once: (missed + 1) * period must not wrap either.
        try core.timerArm(t, 0, 1, 3);
        try testing.expectEqual(@as(usize, 1), core.poll(max - 1, &ev));
        try testing.expectEqual(@as(usize, 0), core.poll(max - 1, &ev));
        try core.close(t);
        _ = core.poll(0, &ev); // the hang-up
    }
    // A huge delay saturates too.
    const t = try core.timerCreate();
    try core.timerArm(t, 5, max, 0);
    try core.register(t, numbers.ev_readable, 1);
    try testing.expectEqual(@as(?u64, max), core.nextDeadline());
}

test "closing a registered handle delivers one hang-up and frees the registration" {
    var core: Core = undefined;
    core.init(all_caps);
    const t = try core.timerCreate();
    try core.register(t, numbers.ev_readable, 7);
    try testing.expectError(error.Exists, core.register(t, numbers.ev_readable, 7));
    try core.close(t);
    var ev: [4]numbers.Event = undefined;
    try testing.expectEqual(@as(usize, 1), core.poll(0, &ev));
    try testing.expectEqual(numbers.Event{ .user_data = 7, .events = numbers.ev_hangup }, ev[0]);
    try testing.expectEqual(@as(usize, 0), core.poll(0, &ev));
}

test "thousands of registered handles closed without polling never overflow anything" {
    var core: Core = undefined;
    core.init(all_caps);
    var closed: usize = 0;
    while (closed < 4 * max_handles) : (closed += 1) {
        const t = core.timerCreate() catch |err| {
            // The table fills with unreported hang-ups: NoSpace, then polling frees them.
            try testing.expectEqual(error.NoSpace, err);
            var ev: [numbers.max_poll_events]numbers.Event = undefined;
            var reported: usize = 0;
            while (true) {
                const n = core.poll(0, &ev);
                if (n == 0) break;
                for (ev[0..n]) |e| try testing.expectEqual(numbers.ev_hangup, e.events);
                reported += n;
            }
            try testing.expectEqual(max_handles, reported);
            try testing.expect(core.slotsAccountedFor());
            continue;
        };
        try core.register(t, numbers.ev_readable, closed);
        try core.close(t);
        try testing.expectError(error.BadHandle, core.close(t));
        try testing.expect(core.slotsAccountedFor());
    }
}

test "a timer registered without readable interest is refused (it could only spin io_poll)" {
    var core: Core = undefined;
    core.init(all_caps);
    const t = try core.timerCreate();
    try testing.expectError(error.Invalid, core.register(t, numbers.ev_writable, 0));
    try core.register(t, numbers.ev_readable | numbers.ev_writable, 0);
}

test "registration rejects capabilities and empty interest" {
    var core: Core = undefined;
    core.init(all_caps);
    const cap = try core.capAcquire(@intFromEnum(Cap.log));
    const t = try core.timerCreate();
    try testing.expectError(error.Invalid, core.register(cap, numbers.ev_readable, 0));
    try testing.expectError(error.Invalid, core.register(t, 0, 0));
    try testing.expectError(error.Invalid, core.register(t, 1 << 20, 0));
    try testing.expectError(error.Invalid, core.unregister(t));
}

test "tasks: spawn, round robin, join blocks until exit, status delivered, slots freed" {
    var core: Core = undefined;
    core.init(all_caps);
    const a = try core.taskSpawn();
    const b = try core.taskSpawn();
    try testing.expectEqual(@as(?u16, a.index), core.pickNext());
    // Task 0 joins a: it blocks; a runs next.
    try testing.expectEqual(@as(?u8, null), try core.taskJoin(a.handle));
    try testing.expectEqual(TaskState.joining, core.tasks[0].state);
    core.current = core.pickNext().?;
    try testing.expectEqual(a.index, core.current);
    try testing.expectError(error.Invalid, core.taskJoin(a.handle)); // itself
    try core.register(a.handle, numbers.ev_readable, 77);
    try core.taskExit(9);
    try testing.expectEqual(TaskState.ready, core.tasks[0].state);
    var ev: [4]numbers.Event = undefined;
    try testing.expectEqual(@as(usize, 1), core.poll(0, &ev));
    try testing.expectEqual(numbers.Event{ .user_data = 77, .events = numbers.ev_readable | numbers.ev_hangup }, ev[0]);
    try testing.expectEqual(@as(usize, 0), core.poll(0, &ev)); // once
    core.current = core.pickNext().?; // b (round robin after a), then 0
    try testing.expectEqual(b.index, core.current);
    core.current = 0;
    try testing.expectEqual(@as(?u8, 9), try core.taskJoin(a.handle));
    try testing.expectError(error.Invalid, core.taskExit(0)); // the initial task ends with exit
    try core.close(a.handle);
    try testing.expectEqual(TaskState.free, core.tasks[a.index].state);
    try testing.expectError(error.BadHandle, core.taskJoin(a.handle));
}

test "task table exhaustion is NoSpace, and an orphaned task frees its slot when it ends" {
    var core: Core = undefined;
    core.init(all_caps);
    var last: u64 = 0;
    for (1..max_tasks) |_| last = (try core.taskSpawn()).handle;
    try testing.expectError(error.NoSpace, core.taskSpawn());
    const slot = try core.lookup(last, .task);
    const index = slot.object.?.task;
    try core.close(last); // still running, now orphaned
    try testing.expectEqual(TaskState.ready, core.tasks[index].state);
    core.current = index;
    try core.taskExit(0);
    try testing.expectEqual(TaskState.free, core.tasks[index].state);
    core.current = 0;
    _ = try core.taskSpawn();
}

test "a poll resumed after other tasks ran keeps its first deadline" {
    var core: Core = undefined;
    core.init(all_caps);
    _ = try core.taskSpawn();
    try testing.expectEqual(@as(?u64, 150), core.pollDeadline(100, 50));
    core.blockInPoll();
    try testing.expectEqual(@as(?u64, null), core.pollersDeadline()); // the running task's own
    core.current = 1;
    try testing.expectEqual(@as(?u64, 150), core.pollersDeadline());
    try testing.expectEqual(@as(?u16, 1), core.pickNext()); // task 0, polling, is not picked
    try testing.expectEqual(@as(?u16, 0), core.wakeOnePoller());
    core.current = 0;
    try testing.expectEqual(@as(?u64, 150), core.pollDeadline(140, 50)); // not 190
    core.pollDone();
    try testing.expectEqual(@as(?u64, 250), core.pollDeadline(200, 50));
}

test "pollers are due when their deadline passes or a timer is, whoever else is ready" {
    var core: Core = undefined;
    core.init(all_caps);
    _ = try core.taskSpawn();
    _ = try core.taskSpawn();
    _ = core.pollDeadline(100, 10); // task 0 polls until 110
    core.blockInPoll();
    core.current = 1;
    try testing.expect(!core.pollersDue(109));
    try testing.expect(core.pollersDue(110));
    const t = try core.timerCreate();
    try core.register(t, numbers.ev_readable, 0);
    try core.timerArm(t, 100, 5, 0);
    try testing.expect(core.pollersDue(105));
    core.wakePollers();
    try testing.expect(!core.pollersDue(200)); // nobody polls
}

test "a task ending or a registered handle closing wakes the pollers" {
    var core: Core = undefined;
    core.init(all_caps);
    const a = try core.taskSpawn();
    _ = core.pollDeadline(0, numbers.timeout_infinite);
    core.blockInPoll();
    try core.register(a.handle, numbers.ev_readable, 9);
    core.current = a.index;
    try core.taskExit(3);
    try testing.expectEqual(TaskState.ready, core.tasks[0].state);
    core.current = 0;
    _ = core.pollDeadline(0, numbers.timeout_infinite);
    core.blockInPoll();
    core.current = a.index; // as if another task ran
    const t = try core.timerCreate();
    try core.register(t, numbers.ev_readable, 1);
    try core.close(t);
    try testing.expectEqual(TaskState.ready, core.tasks[0].state);
}

test "a policy file: names on the first line, then the memory limit; anything else is refused" {
    const plain = try splitPolicyFile("log,time\n");
    try testing.expectEqualStrings("log,time", plain.names);
    try testing.expect(plain.memory_limit_mib == null);
    const limited = try splitPolicyFile("log\r\nmemory_limit_mib = 16\n\n");
    try testing.expectEqualStrings("log", limited.names);
    try testing.expectEqualStrings("16", limited.memory_limit_mib.?);
    try testing.expectEqualStrings("", (try splitPolicyFile("")).names);
    try testing.expectError(error.UnknownPolicyKey, splitPolicyFile("log\nswap=1\n"));
    try testing.expectError(error.UnknownPolicyKey, splitPolicyFile("log\ntime\n"));
    try testing.expectError(error.DuplicatePolicyKey, splitPolicyFile("log\nmemory_limit_mib=1\nmemory_limit_mib=2\n"));
    try testing.expectEqual(@as(u64, 16 << 20), try memoryLimitBytes("16"));
    for ([_][]const u8{ "", "0", "-1", "16M", "16384000000000000000000", "16385", " 1" }) |bad| {
        try testing.expectError(error.BadMemoryLimit, memoryLimitBytes(bad));
    }
}

test "a policy file of random bytes is parsed or refused, never more" {
    var prng = std.Random.DefaultPrng.init(0x706f6c);
    const rnd = prng.random();
    const alphabet = "log,time=memory_limit_mib0123456789\n\r \t-x\x00\xff";
    var buf: [256]u8 = undefined;
    for (0..20_000) |_| {
        const len = rnd.uintLessThan(usize, buf.len);
        for (buf[0..len]) |*b| b.* = alphabet[rnd.uintLessThan(usize, alphabet.len)];
        const file = splitPolicyFile(buf[0..len]) catch continue;
        try testing.expect(std.mem.indexOfScalar(u8, file.names, '\n') == null);
        _ = policyFromNames(file.names) catch {};
        if (file.memory_limit_mib) |text| {
            const bytes = memoryLimitBytes(text) catch continue;
            try testing.expect(bytes >= 1 << 20 and bytes <= max_memory_limit_mib << 20);
        }
    }
}

test "policy names parse into a mask" {
    try testing.expectEqual(Cap.log.bit() | Cap.net.bit(), try policyFromNames("log,net"));
    try testing.expectEqual(@as(u64, 0), try policyFromNames(""));
    try testing.expectError(error.UnknownCapability, policyFromNames("log,disk"));
}

test "random call sequences keep the invariants" {
    var prng = std.Random.DefaultPrng.init(0x5EED);
    const rand = prng.random();
    for (0..200) |_| {
        var core: Core = undefined;
    core.init(rand.int(u64) & (all_caps | Cap.net.bit()));
        var live: std.AutoHashMapUnmanaged(u64, ObjectType) = .empty;
        defer live.deinit(testing.allocator);
        var dead: std.ArrayListUnmanaged(u64) = .empty;
        defer dead.deinit(testing.allocator);
        var dropped_seen: u64 = 0;
        var now: u64 = 0;
        for (0..200) |_| {
            now += rand.uintLessThan(u64, 50);
            switch (rand.uintLessThan(u8, 9)) {
                8 => if (core.taskSpawn()) |t| try live.put(testing.allocator, t.handle, .task) else |_| {},
                0 => if (core.capAcquire(rand.uintLessThan(u64, 8))) |h| try live.put(testing.allocator, h, .capability) else |_| {},
                1 => if (core.timerCreate()) |h| try live.put(testing.allocator, h, .timer) else |_| {},
                2 => if (live.count() > 0) {
                    const h = randomKey(&live, rand);
                    try core.close(h);
                    _ = live.remove(h);
                    try dead.append(testing.allocator, h);
                },
                3 => {
                    const kind = rand.uintLessThan(u64, 8);
                    if (core.capDrop(kind)) |_| dropped_seen |= @as(u64, 1) << @intCast(kind) else |_| {}
                },
                4 => if (live.count() > 0) {
                    const h = randomKey(&live, rand);
                    core.capEnter(&.{h}) catch {};
                },
                5 => if (live.count() > 0) {
                    const h = randomKey(&live, rand);
                    core.timerArm(h, now, rand.uintLessThan(u64, 100), rand.uintLessThan(u64, 3) * 10) catch {};
                    core.register(h, numbers.ev_readable, h) catch {};
                },
                6 => {
                    var ev: [8]numbers.Event = undefined;
                    const n = core.poll(now, &ev);
                    for (ev[0..n]) |e| if (e.events & numbers.ev_hangup == 0) try testing.expect(live.contains(e.user_data));
                },
                else => if (dead.items.len > 0) {
                    // No stale value is ever accepted, whatever was created since.
                    const h = dead.items[rand.uintLessThan(usize, dead.items.len)];
                    try testing.expectError(error.BadHandle, core.close(h));
                    try testing.expectError(error.BadHandle, core.timerArm(h, now, 1, 0));
                    try testing.expectError(error.BadHandle, core.capEnter(&.{h}));
                },
            }
            // Invariants: no leaked slot, the mask never regains a dropped kind, live handles resolve
            // to their own type.
            try testing.expectEqual(live.count(), core.live_count);
            try testing.expect(core.slotsAccountedFor());
            var counts: [3]usize = @splat(0);
            for (core.tasks) |t| switch (t.state) {
                .ready => counts[0] += 1,
                .polling => counts[1] += 1,
                .joining => counts[2] += 1,
                else => {},
            };
            try testing.expectEqual([3]usize{ core.ready_count, core.polling_count, core.joining_count }, counts);
            var marked: usize = 0;
            for (core.slots[0..core.next_fresh]) |*slot| marked += @intFromBool(slot.registered);
            try testing.expectEqual(core.registered_count, marked);
            try testing.expectEqual(@as(u64, 0), core.active & dropped_seen);
            try testing.expectEqual(@as(u64, 0), core.active & ~core.policy);
            var it = live.iterator();
            while (it.next()) |e| _ = try core.lookup(e.key_ptr.*, e.value_ptr.*);
        }
    }
}

fn randomKey(map: *std.AutoHashMapUnmanaged(u64, ObjectType), rand: std.Random) u64 {
    var skip = rand.uintLessThan(usize, map.count());
    var it = map.keyIterator();
    while (it.next()) |k| {
        if (skip == 0) return k.*;
        skip -= 1;
    }
    unreachable;
}
