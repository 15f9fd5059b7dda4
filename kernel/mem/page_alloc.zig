//! Physical page allocator. Built from the memory map at boot in O(regions): usable RAM minus
//! everything reserved (kernel image, boot modules, low memory), handed out by a bump cursor over
//! those ranges; freed pages go on a free list threaded through the pages themselves. No per-page
//! work at init: ring-0 code runs emulated under kvm-pvm and a page-by-page pass would cost
//! tens of milliseconds of boot.
const std = @import("std");
const assert = std.debug.assert;
const mem_bytes = @import("bytes.zig");

pub const page_size: u64 = 4096;
pub const max_ranges = 64;
pub const max_reserved = 16;
/// Spans of skipped fresh pages kept at once; with all of them in use a large run is not aligned
/// to (the caller maps 4 KiB pages instead).
pub const max_fresh_spans = 16;

pub const Range = struct { start: u64, end: u64 };

pub const PageAllocator = struct {
    ranges: [max_ranges]Range = undefined,
    range_count: usize = 0,
    cursor_range: usize = 0,
    cursor: u64 = 0,
    free_head: u64 = 0,
    free_count: u64 = 0,
    /// Pages never handed out that the cursor passed over (to align a large run), as spans: none of
    /// their bytes is ever written here (a list threaded through the pages cost a store to each,
    /// up to 511 per large run, ~4,800 emulated ring-0 instructions of the boot under kvm-pvm).
    fresh_spans: [max_fresh_spans]Range = undefined,
    fresh_span_count: usize = 0,
    fresh_count: u64 = 0,
    /// Whole 2 MiB pages given back by mem_unmap, kept whole for the next large mapping: a list
    /// threaded through their first word. Their contents are old.
    large_free_head: u64 = 0,
    large_free_count: u64 = 0,
    total_pages: u64 = 0,
    allocated_pages: u64 = 0,
    /// Added to a physical address to reach it (0 in the kernel's identity map; a test buffer's base).
    virt_offset: u64 = 0,

    pub const Error = error{TooManyRanges};

    /// `usable` ranges minus `reserved` ones, clipped to [min_addr, max_addr).
    pub fn init(usable: []const Range, reserved: []const Range, min_addr: u64, max_addr: u64, virt_offset: u64) Error!PageAllocator {
        var self = PageAllocator{ .virt_offset = virt_offset };
        for (usable) |region| {
            const start = std.mem.alignForward(u64, @max(region.start, min_addr), page_size);
            const end = std.mem.alignBackward(u64, @min(region.end, max_addr), page_size);
            if (start < end) try self.addCarved(.{ .start = start, .end = end }, reserved);
        }
        if (self.range_count > 0) self.cursor = self.ranges[0].start;
        return self;
    }

    /// Adds `range` minus every reserved range; no recursion: pieces are worked off a bounded stack.
    fn addCarved(self: *PageAllocator, range: Range, reserved: []const Range) Error!void {
        var stack: [max_reserved + 1]Range = undefined;
        var depth: usize = 1;
        stack[0] = range;
        outer: while (depth > 0) {
            depth -= 1;
            const piece = stack[depth];
            for (reserved) |r| {
                const r_start = std.mem.alignBackward(u64, r.start, page_size);
                const r_end = std.mem.alignForward(u64, r.end, page_size);
                if (r_end <= piece.start or r_start >= piece.end) continue;
                if (depth + 2 > stack.len) return error.TooManyRanges;
                if (piece.start < r_start) {
                    stack[depth] = .{ .start = piece.start, .end = r_start };
                    depth += 1;
                }
                if (r_end < piece.end) {
                    stack[depth] = .{ .start = r_end, .end = piece.end };
                    depth += 1;
                }
                continue :outer;
            }
            if (self.range_count == max_ranges) return error.TooManyRanges;
            self.ranges[self.range_count] = piece;
            self.range_count += 1;
            self.total_pages += (piece.end - piece.start) / page_size;
        }
    }

    pub fn freePages(self: *const PageAllocator) u64 {
        return self.total_pages - self.allocated_pages;
    }

    /// One page, or null when memory is exhausted. Contents are unspecified.
    pub fn alloc(self: *PageAllocator) ?u64 {
        if (self.fresh_span_count > 0) {
            const span = &self.fresh_spans[self.fresh_span_count - 1];
            const page = span.start;
            span.start += page_size;
            if (span.start == span.end) self.fresh_span_count -= 1;
            self.fresh_count -= 1;
            return self.taken(page);
        }
        if (self.free_head != 0) {
            const page = self.free_head;
            self.free_head = self.nextOf(page).*;
            self.free_count -= 1;
            return self.taken(page);
        }
        if (self.allocCursor()) |page| return page;
        if (self.splitLarge()) return self.alloc();
        return null;
    }

    fn allocCursor(self: *PageAllocator) ?u64 {
        while (self.cursor_range < self.range_count) {
            const range = self.ranges[self.cursor_range];
            if (self.cursor < range.end) {
                const page = self.cursor;
                self.cursor += page_size;
                return self.taken(page);
            }
            self.cursor_range += 1;
            if (self.cursor_range < self.range_count) self.cursor = self.ranges[self.cursor_range].start;
        }
        return null;
    }

    /// A page or a 2 MiB run for ring 3, and whether it may hold old bytes (`dirty`): the caller
    /// has those zeroed where it is cheap (in ring 3, natively) instead of here, where every store
    /// is emulated under kvm-pvm.
    pub const Taken = struct { phys: u64, dirty: bool };

    /// One page for a mem_map mapping: a fresh one (zero, sampled), else a recycled one (dirty).
    pub fn allocUser(self: *PageAllocator) ?Taken {
        if (self.fresh_span_count > 0) {
            const page = self.alloc().?; // the fresh spans first: never written, zero
            return .{ .phys = page, .dirty = false };
        }
        if (self.free_head == 0) {
            if (self.allocCursor()) |page| return .{ .phys = page, .dirty = !self.looksZero(page, page_size) };
        }
        const page = self.alloc() orelse return null; // the free list, or a split 2 MiB page
        return .{ .phys = page, .dirty = true };
    }

    /// A 2 MiB-aligned run of 2 MiB for a mem_map mapping: one given back before (dirty: its
    /// memory is already backed by the host, so reusing it keeps the VM's footprint at the
    /// workload's peak), else one never handed out (zero, sampled), else null (the caller falls
    /// back to 4 KiB pages).
    pub fn allocLargeUser(self: *PageAllocator) ?Taken {
        if (self.large_free_head != 0) {
            const run = self.large_free_head;
            self.large_free_head = self.nextOf(run).*;
            self.large_free_count -= 1;
            self.allocated_pages += pages_per_large;
            assert(self.allocated_pages <= self.total_pages);
            return .{ .phys = run, .dirty = true };
        }
        const start = self.alignedFreshStart() orelse return null;
        self.cursor = start + large_page_bytes;
        self.allocated_pages += pages_per_large;
        assert(self.allocated_pages <= self.total_pages);
        return .{ .phys = start, .dirty = !self.looksZero(start, large_page_bytes) };
    }

    /// Gives back a 2 MiB run from allocLargeUser or allocLargeZeroed, kept whole.
    pub fn freeLarge(self: *PageAllocator, run: u64) void {
        assert(run % large_page_bytes == 0 and self.owns(run) and self.owns(run + large_page_bytes - page_size));
        assert(self.allocated_pages >= pages_per_large);
        self.nextOf(run).* = self.large_free_head;
        self.large_free_head = run;
        self.large_free_count += 1;
        self.allocated_pages -= pages_per_large;
    }

    /// When nothing else is left: one kept 2 MiB page becomes 512 free pages.
    fn splitLarge(self: *PageAllocator) bool {
        const run = self.large_free_head;
        if (run == 0) return false;
        self.large_free_head = self.nextOf(run).*;
        self.large_free_count -= 1;
        var page = run;
        while (page < run + large_page_bytes) : (page += page_size) {
            self.nextOf(page).* = self.free_head;
            self.free_head = page;
            self.free_count += 1;
        }
        return true;
    }

    /// `count` physically contiguous pages from the bump cursor (used once, at init, for the heap).
    /// Ranges too small for the run are passed over and their remaining pages dropped from the
    /// total: at init that is at most a few small holes.
    pub fn allocContiguous(self: *PageAllocator, count: u64) ?u64 {
        assert(count > 0);
        const bytes_needed = count * page_size;
        var index = self.cursor_range;
        var cursor = self.cursor;
        while (index < self.range_count) : (index += 1) {
            const range = self.ranges[index];
            if (index != self.cursor_range) cursor = range.start;
            if (range.end - cursor >= bytes_needed) {
                for (self.cursor_range..index) |skipped| {
                    const from = if (skipped == self.cursor_range) self.cursor else self.ranges[skipped].start;
                    self.total_pages -= (self.ranges[skipped].end - from) / page_size;
                }
                self.cursor_range = index;
                self.cursor = cursor + bytes_needed;
                self.allocated_pages += count;
                assert(self.allocated_pages <= self.total_pages);
                return cursor;
            }
        }
        return null;
    }

    /// One zero-filled page. A page never handed out since boot comes straight from the bump
    /// cursor without being written: both VMMs back guest RAM with anonymous host memory, so it
    /// is already zero (the boot tests check every byte of a 200 MiB .bss from ring 3), and
    /// zeroing a page in ring 0 costs ~0.5 ms under kvm-pvm. Recycled pages are zeroed.
    pub fn allocZeroed(self: *PageAllocator) ?u64 {
        const recycled = self.fresh_span_count == 0 and self.free_head != 0;
        const page = self.alloc() orelse return null;
        if (recycled or !self.looksZero(page, page_size)) mem_bytes.zero(self.bytes(page));
        return page;
    }

    /// Bytes in a large page (a 2 MiB mapping).
    pub const large_page_bytes: u64 = 2 << 20;
    const pages_per_large: u64 = large_page_bytes / page_size;

    /// A zero-filled, 2 MiB-aligned run of 2 MiB from memory never handed out, or null when the
    /// bump cursor's range has no such run left (the caller falls back to 4 KiB pages). Pages
    /// skipped to reach the alignment become a fresh span, still usable and still zero.
    pub fn allocLargeZeroed(self: *PageAllocator) ?u64 {
        const start = self.alignedFreshStart() orelse return null;
        return self.takeFreshRun(start, large_page_bytes);
    }

    /// The next 2 MiB-aligned start of 2 MiB never handed out in the cursor's range, the pages
    /// below it kept as a fresh span (still usable, still zero); null when the range has none or
    /// every span slot is taken.
    fn alignedFreshStart(self: *PageAllocator) ?u64 {
        if (self.cursor_range >= self.range_count) return null;
        const range = self.ranges[self.cursor_range];
        const start = std.mem.alignForward(u64, self.cursor, large_page_bytes);
        if (start < self.cursor or start > range.end or range.end - start < large_page_bytes) return null;
        if (self.cursor < start) {
            if (self.fresh_span_count == max_fresh_spans) return null;
            self.fresh_spans[self.fresh_span_count] = .{ .start = self.cursor, .end = start };
            self.fresh_span_count += 1;
            self.fresh_count += (start - self.cursor) / page_size;
        }
        return start;
    }

    /// `count` contiguous zero-filled pages never handed out, from the bump cursor's current range
    /// only (null when it has fewer left: the caller takes pages one at a time instead). For
    /// mapping many pages with one walk of the page tables.
    pub fn allocFreshRun(self: *PageAllocator, count: u64) ?u64 {
        assert(count > 0 and count <= pages_per_large);
        if (self.cursor_range >= self.range_count) return null;
        const range = self.ranges[self.cursor_range];
        if (range.end - self.cursor < count * page_size) return null;
        return self.takeFreshRun(self.cursor, count * page_size);
    }

    /// Hands out [start, start + len) of the cursor's range, which the cursor has not passed:
    /// zero already, sampled to be sure.
    fn takeFreshRun(self: *PageAllocator, start: u64, len: u64) u64 {
        assert(start >= self.cursor and len % page_size == 0);
        self.cursor = start + len;
        self.allocated_pages += len / page_size;
        assert(self.allocated_pages <= self.total_pages);
        if (!self.looksZero(start, len)) mem_bytes.zero(self.bytesAt(start, len));
        return start;
    }

    /// A cheap look at memory that should be zero (its first and last words): a VMM that hands
    /// over dirty RAM is caught here and the memory zeroed after all, rather than leaked to ring 3.
    fn looksZero(self: *const PageAllocator, start: u64, len: u64) bool {
        const first: *const volatile u64 = @ptrFromInt(start + self.virt_offset);
        const last: *const volatile u64 = @ptrFromInt(start + self.virt_offset + len - 8);
        return first.* == 0 and last.* == 0;
    }

    fn bytesAt(self: *const PageAllocator, start: u64, len: u64) []u8 {
        const p: [*]u8 = @ptrFromInt(start + self.virt_offset);
        return p[0..len];
    }

    pub fn free(self: *PageAllocator, page: u64) void {
        assert(page % page_size == 0);
        assert(self.owns(page));
        assert(self.allocated_pages > 0);
        self.nextOf(page).* = self.free_head;
        self.free_head = page;
        self.free_count += 1;
        self.allocated_pages -= 1;
    }

    pub fn bytes(self: *const PageAllocator, page: u64) *[page_size]u8 {
        return @ptrFromInt(page + self.virt_offset);
    }

    fn owns(self: *const PageAllocator, page: u64) bool {
        for (self.ranges[0..self.range_count]) |r| {
            if (page >= r.start and page < r.end) return true;
        }
        return false;
    }

    fn taken(self: *PageAllocator, page: u64) u64 {
        assert(page != 0 and page % page_size == 0);
        assert(self.owns(page));
        self.allocated_pages += 1;
        assert(self.allocated_pages <= self.total_pages);
        return page;
    }

    fn nextOf(self: *const PageAllocator, page: u64) *u64 {
        return @ptrFromInt(page + self.virt_offset);
    }
};

test "reserved ranges are never handed out and every usable page is" {
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 64 * 4096);
    defer std.testing.allocator.free(mem);
    const base: u64 = 0x100000; // fake physical base of the buffer
    const offset = @intFromPtr(mem.ptr) -% base;
    const usable = [_]Range{ .{ .start = base, .end = base + 32 * 4096 }, .{ .start = base + 40 * 4096, .end = base + 64 * 4096 } };
    const reserved = [_]Range{ .{ .start = base + 4 * 4096 + 10, .end = base + 6 * 4096 }, .{ .start = base + 50 * 4096, .end = base + 51 * 4096 } };
    var pa = try PageAllocator.init(&usable, &reserved, base + 4096, base + 60 * 4096, offset);
    // 31 + 20 usable pages in range, minus 2 + 1 reserved.
    try std.testing.expectEqual(@as(u64, 48), pa.total_pages);
    var seen = std.AutoHashMap(u64, void).init(std.testing.allocator);
    defer seen.deinit();
    while (pa.alloc()) |page| {
        try std.testing.expect(page >= base + 4096 and page < base + 60 * 4096);
        try std.testing.expect(!(page >= base + 4 * 4096 and page < base + 6 * 4096));
        try std.testing.expect(page != base + 50 * 4096);
        try std.testing.expect(!(page >= base + 32 * 4096 and page < base + 40 * 4096));
        try std.testing.expect(!seen.contains(page));
        try seen.put(page, {});
    }
    try std.testing.expectEqual(@as(usize, 48), seen.count());
    try std.testing.expectEqual(@as(u64, 0), pa.freePages());
}

test "freed pages come back, zeroed when asked" {
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 4 * 4096);
    defer std.testing.allocator.free(mem);
    const base: u64 = 0x200000;
    var pa = try PageAllocator.init(&.{.{ .start = base, .end = base + 4 * 4096 }}, &.{}, 0, 1 << 32, @intFromPtr(mem.ptr) -% base);
    const a = pa.alloc().?;
    const b = pa.alloc().?;
    try std.testing.expect(a != b);
    pa.bytes(a)[100] = 0xAA;
    pa.free(a);
    try std.testing.expectEqual(@as(u64, 3), pa.freePages());
    const c = pa.allocZeroed().?;
    try std.testing.expectEqual(a, c);
    try std.testing.expectEqual(@as(u8, 0), pa.bytes(c)[100]);
    _ = pa.alloc().?;
    _ = pa.alloc().?;
    try std.testing.expect(pa.alloc() == null);
}

test "contiguous runs come from the bump cursor and skip ranges too small" {
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 16 * 4096);
    defer std.testing.allocator.free(mem);
    const base: u64 = 0x300000;
    var pa = try PageAllocator.init(&.{ .{ .start = base, .end = base + 3 * 4096 }, .{ .start = base + 4 * 4096, .end = base + 16 * 4096 } }, &.{}, 0, 1 << 32, @intFromPtr(mem.ptr) -% base);
    const run = pa.allocContiguous(8).?;
    try std.testing.expectEqual(base + 4 * 4096, run);
    try std.testing.expectEqual(@as(u64, 8), pa.allocated_pages);
    try std.testing.expectEqual(@as(u64, 4), pa.freePages());
    try std.testing.expect(pa.allocContiguous(5) == null);
    try std.testing.expect(pa.alloc() != null);
}

test "fresh pages are handed out as they are; recycled and dirty ones are zeroed" {
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 4 * 4096);
    defer std.testing.allocator.free(mem);
    @memset(mem, 0);
    const base: u64 = 0x200000;
    var pa = try PageAllocator.init(&.{.{ .start = base, .end = base + 4 * 4096 }}, &.{}, 0, 1 << 32, @intFromPtr(mem.ptr) -% base);
    mem[4096 + 100] = 0x55; // fresh but not zero in the middle: a sample does not look there
    mem[2 * 4096 + 4095] = 0x66; // fresh, last byte dirty: caught, zeroed
    const a = pa.allocZeroed().?;
    const b = pa.allocZeroed().?;
    const c = pa.allocZeroed().?;
    try std.testing.expectEqual(@as(u8, 0), pa.bytes(a)[0]);
    try std.testing.expectEqual(@as(u8, 0x55), pa.bytes(b)[100]); // left as handed over
    try std.testing.expectEqual(@as(u8, 0), pa.bytes(c)[4095]);
}

test "large runs are 2 MiB aligned, skip to the alignment without losing pages, and end with the range" {
    const large = PageAllocator.large_page_bytes;
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 3 * large);
    defer std.testing.allocator.free(mem);
    @memset(mem, 0);
    const base: u64 = 0x4000_0000; // fake physical base, 2 MiB aligned
    var pa = try PageAllocator.init(&.{.{ .start = base + 4096, .end = base + 3 * large }}, &.{}, 0, 1 << 40, @intFromPtr(mem.ptr) -% base);
    const total = pa.freePages();
    const run = pa.allocLargeZeroed().?;
    try std.testing.expectEqual(base + large, run);
    try std.testing.expectEqual(total - 512, pa.freePages()); // the 511 skipped pages stay free
    try std.testing.expectEqual(@as(u64, 511), pa.fresh_count);
    try std.testing.expectEqual(base + 2 * large, pa.allocLargeZeroed().?);
    try std.testing.expect(pa.allocLargeZeroed() == null); // the range is used up
    var n: u64 = 0;
    while (pa.allocZeroed()) |page| : (n += 1) {
        try std.testing.expect(page < base + large);
        try std.testing.expect(std.mem.allEqual(u8, pa.bytes(page), 0)); // the list link is gone
    }
    try std.testing.expectEqual(@as(u64, 511), n);
}

test "2 MiB pages for ring 3: fresh ones are clean, given-back ones come back whole and dirty, and split when nothing else is left" {
    const large = PageAllocator.large_page_bytes;
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 2 * large);
    defer std.testing.allocator.free(mem);
    @memset(mem, 0);
    const base: u64 = 0x4000_0000;
    var pa = try PageAllocator.init(&.{.{ .start = base, .end = base + 2 * large }}, &.{}, 0, 1 << 40, @intFromPtr(mem.ptr) -% base);
    const a = pa.allocLargeUser().?;
    try std.testing.expectEqual(PageAllocator.Taken{ .phys = base, .dirty = false }, a);
    mem[2 * large - 1] = 0x66; // a dirty fresh run is reported dirty, not zeroed in ring 0
    const b = pa.allocLargeUser().?;
    try std.testing.expect(b.dirty and b.phys == base + large);
    try std.testing.expect(pa.allocLargeUser() == null);
    try std.testing.expect(pa.allocUser() == null);
    pa.freeLarge(a.phys);
    try std.testing.expectEqual(@as(u64, 512), pa.freePages());
    const again = pa.allocLargeUser().?;
    try std.testing.expectEqual(PageAllocator.Taken{ .phys = base, .dirty = true }, again);
    pa.freeLarge(again.phys);
    // No 4 KiB page left anywhere else: the kept 2 MiB page is split, and every piece is dirty.
    var n: u64 = 0;
    while (pa.allocUser()) |t| : (n += 1) {
        try std.testing.expect(t.dirty and t.phys >= base and t.phys < base + large);
    }
    try std.testing.expectEqual(@as(u64, 512), n);
    try std.testing.expectEqual(@as(u64, 0), pa.freePages());
}

test "4 KiB pages for ring 3: fresh-list and cursor pages are clean, recycled ones dirty" {
    const mem = try std.testing.allocator.alignedAlloc(u8, .fromByteUnits(4096), 4 * 4096);
    defer std.testing.allocator.free(mem);
    @memset(mem, 0);
    const base: u64 = 0x200000;
    var pa = try PageAllocator.init(&.{.{ .start = base, .end = base + 4 * 4096 }}, &.{}, 0, 1 << 32, @intFromPtr(mem.ptr) -% base);
    const a = pa.allocUser().?;
    try std.testing.expect(!a.dirty);
    pa.free(a.phys);
    try std.testing.expectEqual(PageAllocator.Taken{ .phys = a.phys, .dirty = true }, pa.allocUser().?);
    mem[2 * 4096 - 8] = 1; // a fresh page whose last word is not zero
    try std.testing.expect(pa.allocUser().?.dirty);
}
