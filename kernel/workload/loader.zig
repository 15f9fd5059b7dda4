//! Loading a workload into ring 3 and running it: ELF segments, the info page with its gate stub,
//! the stack; then enterUser until the workload exits or faults.
const std = @import("std");
const assert = std.debug.assert;
const layout = @import("../layout.zig");
const elf = @import("elf.zig");
const paging = @import("../arch/x86_64/paging.zig");
const PageAllocator = @import("../mem/page_alloc.zig").PageAllocator;
const bytes = @import("../mem/bytes.zig");

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
extern const user_zero_start: u8;
extern const user_zero_end: u8;

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

    pub fn info(self: *const Loaded) *layout.WorkloadInfo {
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

/// What a mapped range is filled with: zeros, and optionally the bytes of a file at an address.
const Fill = struct {
    /// File bytes that belong at `vaddr` (the rest of the range is zero).
    bytes: []const u8 = &.{},
    vaddr: u64 = 0,

    /// Copies the file bytes that land in [virt, virt + len) into the memory at `phys`.
    fn into(self: Fill, virt: u64, len: u64, phys: u64) void {
        const lo = @max(virt, self.vaddr);
        const hi = @min(virt + len, self.vaddr + self.bytes.len);
        if (lo >= hi) return;
        const dst: [*]u8 = @ptrFromInt(phys + (lo - virt));
        bytes.copy(dst[0..@intCast(hi - lo)], self.bytes[@intCast(lo - self.vaddr)..][0..@intCast(hi - lo)]);
    }
};

/// Maps [start, end) for ring 3 with `access`, zero-filled then `fill`ed; nothing in it may be
/// mapped yet (each page takes its rights from one segment: W^X holds page by page). The one way
/// the kernel gives a workload memory (segments, .bss, the stack), shaped by kvm-pvm, where every
/// ring-0 memory access is emulated: all of it mapped before ring 3 runs (no fault storms: each
/// fault is a kernel entry of ~0.1-0.2 ms); a 2 MiB page wherever a whole aligned 2 MiB fits;
/// otherwise one page-table walk per 2 MiB and a contiguous run of pages; and no zeroing of
/// memory never handed out (page_alloc.zig).
fn mapRange(pa: *PageAllocator, start: u64, end: u64, access: paging.Access, fill: Fill) Error!void {
    assert(start % layout.page_size == 0 and end % layout.page_size == 0 and start <= end);
    const large = paging.large_page_bytes;
    var virt = start;
    while (virt < end) {
        const slot_end = @min(end, std.mem.alignBackward(u64, virt, large) + large);
        if (virt % large == 0 and slot_end - virt == large and paging.largeSlotEmpty(virt)) {
            if (pa.allocLargeZeroed()) |phys| {
                try paging.mapUserLargePage(pa, virt, phys, access);
                fill.into(virt, large, phys);
                virt = slot_end;
                continue;
            }
        }
        // Never already mapped: elf.parse lets no two segments share a page.
        const leaves = try paging.emptyUserLeaves(pa, virt, end);
        var run: ?u64 = pa.allocFreshRun(leaves.len);
        const bits = paging.userLeafBits(access);
        for (leaves) |*leaf| {
            const phys = if (run) |r| blk: {
                run = r + layout.page_size;
                break :blk r;
            } else pa.allocZeroed() orelse return error.OutOfMemory;
            leaf.* = phys | bits;
            fill.into(virt, layout.page_size, phys);
            virt += layout.page_size;
        }
    }
}

/// Maps memory the kernel already holds (page-aligned, identity-mapped, never written again) into
/// ring 3 at `virt`, read-only, with `access`'s execute right: the root image (no-execute), for the
/// workload to read its files without a copy, and the read-only segments of a workload that came
/// in it (loadSegment). One page-table walk per 2 MiB, as mapRange.
fn mapShared(pa: *PageAllocator, virt_start: u64, phys_start: u64, len: u64, access: paging.Access) Error!void {
    assert(virt_start % layout.page_size == 0 and phys_start % layout.page_size == 0 and !access.write);
    const end = virt_start + std.mem.alignForward(u64, len, layout.page_size);
    const bits = paging.userLeafBits(access);
    var virt = virt_start;
    var phys = phys_start;
    while (virt < end) {
        for (try paging.emptyUserLeaves(pa, virt, end)) |*leaf| {
            leaf.* = phys | bits;
            phys += layout.page_size;
            virt += layout.page_size;
        }
    }
}

pub fn load(pa: *PageAllocator, file: []const u8, arg: []const u8, root_image: ?[]const u8, policy: u64) Error!Loaded {
    const image = try elf.parse(file, layout.user_image_base, layout.user_image_end);
    const before = pa.allocated_pages;
    // A workload from the root image can have its read-only segments mapped where they lie.
    const in_root = if (root_image) |r| @intFromPtr(file.ptr) >= @intFromPtr(r.ptr) and
        @intFromPtr(file.ptr) + file.len <= @intFromPtr(r.ptr) + r.len else false;
    for (image.loadSegments()) |seg| try loadSegment(pa, file, seg, in_root);

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
        .arg = layout.user_info_addr + layout.user_arg_offset,
        .arg_len = arg.len,
        .root_image = if (root_image != null) layout.user_root_image_addr else 0,
        .root_image_len = if (root_image) |r| r.len else 0,
        .clock = .{ .seq = 0, .flags = 0, .tsc_base = 0, .ns_mult = 0, .wall_base_ns = 0 },
        .policy = policy,
    };
    if (root_image) |r| {
        assert(r.len <= layout.max_root_image_bytes);
        try mapShared(pa, layout.user_root_image_addr, @intFromPtr(r.ptr), r.len, .{});
    }
    assert(arg.len <= layout.max_arg_bytes);
    const page: [*]u8 = @ptrFromInt(info_phys);
    bytes.copy(page[layout.user_arg_offset..][0..arg.len], arg);
    const zero_stub = @as([*]const u8, @ptrCast(&user_zero_start))[0 .. @intFromPtr(&user_zero_end) - @intFromPtr(&user_zero_start)];
    assert(layout.user_zero_offset + zero_stub.len <= layout.user_arg_offset);
    bytes.copy(page[layout.user_zero_offset..][0..zero_stub.len], zero_stub);

    try mapRange(pa, layout.user_stack_top - layout.user_stack_size_bytes, layout.user_stack_top, .{ .write = true }, .{});
    return .{ .entry = image.entry, .info_phys = info_phys, .pages = pa.allocated_pages - before };
}

/// `shareable`: `file` lies in the root image, which stays in memory, unwritten, for the whole run.
/// Then a segment that is never written (text, rodata) and has no zero-filled tail, whose bytes
/// sit in the file at the same offset within a page as its address (`ukernel pack` puts
/// workload.elf's data on a 4 KiB boundary in the tar, and linkers align segments so), is mapped
/// straight from the image's pages instead of copied: under kvm-pvm each ring-0 byte copied is
/// emulated (the JavaScript runtime's 2 MiB cost ~0.3 s of boot). The pages' other bytes are the
/// file's own neighbouring bytes, which the workload can read in the root image anyway.
fn loadSegment(pa: *PageAllocator, file: []const u8, seg: elf.Segment, shareable: bool) Error!void {
    const access = paging.Access{ .write = seg.writable, .execute = seg.executable };
    const first = std.mem.alignBackward(u64, seg.vaddr, layout.page_size);
    const end = std.mem.alignForward(u64, seg.vaddr + seg.mem_size, layout.page_size);
    const contents = file[@intCast(seg.file_offset)..][0..@intCast(seg.file_size)];
    const src = @intFromPtr(contents.ptr);
    if (shareable and !seg.writable and seg.file_size == seg.mem_size and seg.file_size > 0 and
        src % layout.page_size == seg.vaddr % layout.page_size)
    {
        return mapShared(pa, first, std.mem.alignBackward(u64, src, layout.page_size), end - first, access);
    }
    try mapRange(pa, first, end, access, .{ .bytes = contents, .vaddr = seg.vaddr });
}
