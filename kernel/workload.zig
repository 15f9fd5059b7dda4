//! Loading a workload into ring 3 and running it: ELF segments, the info page with its gate stub,
//! the stack; then enterUser until the workload exits or faults.
const std = @import("std");
const assert = std.debug.assert;
const layout = @import("layout.zig");
const elf = @import("elf.zig");
const paging = @import("arch/x86_64/paging.zig");
const PageAllocator = @import("mem/page_alloc.zig").PageAllocator;
const bytes = @import("mem/bytes.zig");

pub const Error = elf.Error || paging.Error;

/// How a run of ring 3 ended, as resumeKernel reports it to enterUser.
pub const Outcome = union(enum) {
    exited: u8,
    faulted: u8, // the exception vector
    probe: bool,

    pub fn encode(self: Outcome) u64 {
        return switch (self) {
            .exited => |code| (@as(u64, 1) << 32) | code,
            .faulted => |vector| (@as(u64, 2) << 32) | vector,
            .probe => |ok| (@as(u64, 3) << 32) | @intFromBool(ok),
        };
    }
    pub fn decode(value: u64) Outcome {
        const low: u8 = @truncate(value);
        return switch (value >> 32) {
            1 => .{ .exited = low },
            2 => .{ .faulted = low },
            3 => .{ .probe = low != 0 },
            else => unreachable,
        };
    }
};

extern fn enterUser(entry: u64, user_rsp: u64, user_rdi: u64) callconv(.c) u64;
pub extern fn resumeKernel(value: u64) callconv(.c) noreturn;

extern const gate_syscall_start: u8;
extern const gate_syscall_end: u8;
extern const gate_trap_start: u8;
extern const gate_trap_end: u8;

fn gateStub(kind: layout.GateKind) []const u8 {
    const start, const end = switch (kind) {
        .syscall => .{ &gate_syscall_start, &gate_syscall_end },
        .trap => .{ &gate_trap_start, &gate_trap_end },
    };
    const len = @intFromPtr(end) - @intFromPtr(start);
    return @as([*]const u8, @ptrCast(start))[0..len];
}

pub const Loaded = struct {
    entry: u64,
    info_phys: u64,
    pages: u64,

    fn info(self: *const Loaded) *layout.WorkloadInfo {
        return @ptrFromInt(self.info_phys);
    }

    /// Writes the chosen gate stub into the (read-only to ring 3) info page.
    pub fn setGate(self: *const Loaded, kind: layout.GateKind) void {
        const stub = gateStub(kind);
        const page: [*]u8 = @ptrFromInt(self.info_phys);
        assert(layout.user_gate_offset + stub.len <= layout.page_size);
        bytes.copy(page[layout.user_gate_offset..][0..stub.len], stub);
        self.info().gate_kind = @intFromEnum(kind);
    }

    pub fn run(self: *const Loaded) Outcome {
        return Outcome.decode(enterUser(self.entry, layout.user_stack_top, layout.user_info_addr));
    }

    /// Runs the gate stub itself with the probe call: tells whether `syscall` reaches ring 0 here.
    pub fn probe(_: *const Loaded, probe_call: u64) Outcome {
        return Outcome.decode(enterUser(layout.user_info_addr + layout.user_gate_offset, layout.user_stack_top, probe_call));
    }
};

/// The stack is mapped on first touch, a page at a time: zeroing a page costs ~0.5 ms of emulated
/// ring-0 time under kvm-pvm, and most workloads touch a few pages of a stack sized for the worst.
var stack_allocator: ?*PageAllocator = null;

/// Maps the missing stack page behind a ring-3 page fault; false when the fault is anything else
/// (a protection fault, an address outside the stack, such as the overflow below its bottom).
pub fn mapStackOnFault(fault_addr: u64, error_code: u64) bool {
    const pa = stack_allocator orelse return false;
    const page_present: u64 = 1;
    if (error_code & page_present != 0) return false;
    const bottom = layout.user_stack_top - layout.user_stack_size_bytes;
    if (fault_addr < bottom or fault_addr >= layout.user_stack_top) return false;
    const page = pa.allocZeroed() orelse return false;
    paging.mapUserPage(pa, std.mem.alignBackward(u64, fault_addr, layout.page_size), page, .{ .write = true }) catch return false;
    return true;
}

/// Maps every missing stack page in [addr, addr + len): memory a workload passes to a call may lie
/// on stack pages it has not touched yet, which are its memory all the same.
pub fn mapStackRange(addr: u64, len: u64) void {
    const bottom = layout.user_stack_top - layout.user_stack_size_bytes;
    const end = std.math.add(u64, addr, len) catch return;
    var page = std.mem.alignBackward(u64, @max(addr, bottom), layout.page_size);
    while (page < @min(end, layout.user_stack_top)) : (page += layout.page_size) {
        if (paging.userPhys(page) == null and !mapStackOnFault(page, 0)) return;
    }
}

pub fn load(pa: *PageAllocator, file: []const u8) Error!Loaded {
    const image = try elf.parse(file, layout.user_image_base, layout.user_image_end);
    const before = pa.allocated_pages;
    for (image.loadSegments()) |seg| try loadSegment(pa, file, seg);

    const info_phys = pa.allocZeroed() orelse return error.OutOfMemory;
    try paging.mapUserPage(pa, layout.user_info_addr, info_phys, .{ .execute = true });
    const info: *layout.WorkloadInfo = @ptrFromInt(info_phys);
    info.* = .{
        .magic = layout.workload_info_magic,
        .version = layout.workload_info_version,
        .gate_kind = 0,
        .gate = layout.user_info_addr + layout.user_gate_offset,
        .stack_top = layout.user_stack_top,
        .stack_size_bytes = layout.user_stack_size_bytes,
    };

    stack_allocator = pa;
    return .{ .entry = image.entry, .info_phys = info_phys, .pages = pa.allocated_pages - before };
}

fn loadSegment(pa: *PageAllocator, file: []const u8, seg: elf.Segment) Error!void {
    const access = paging.Access{ .write = seg.writable, .execute = seg.executable };
    const first = std.mem.alignBackward(u64, seg.vaddr, layout.page_size);
    const end = std.mem.alignForward(u64, seg.vaddr + seg.mem_size, layout.page_size);
    var page = first;
    while (page < end) : (page += layout.page_size) {
        const phys = paging.userPhys(page) orelse blk: {
            const fresh = pa.allocZeroed() orelse return error.OutOfMemory;
            try paging.mapUserPage(pa, page, fresh, access);
            break :blk fresh;
        };
        paging.widenUserPage(page, access);
        // The part of the file that lands in this page.
        const lo = @max(page, seg.vaddr);
        const hi = @min(page + layout.page_size, seg.vaddr + seg.file_size);
        if (lo < hi) {
            const src = file[@intCast(seg.file_offset + (lo - seg.vaddr))..][0..@intCast(hi - lo)];
            const dst: [*]u8 = @ptrFromInt(phys + (lo - page));
            bytes.copy(dst[0..src.len], src);
        }
    }
}
