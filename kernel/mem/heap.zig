//! Kernel heap: first fit over one region taken from the page allocator at init, free chunks kept
//! in address order and merged with their neighbours on free. Exposed as a std.mem.Allocator.
const std = @import("std");
const assert = std.debug.assert;

const granule: usize = 16;

const FreeChunk = struct { size: usize, next: ?*FreeChunk };
/// Sits just below every payload handed out.
const UsedHeader = struct { chunk_start: usize, chunk_size: usize };

comptime {
    assert(@sizeOf(UsedHeader) == granule);
    assert(@sizeOf(FreeChunk) <= granule);
}

pub const Heap = struct {
    start: usize,
    end: usize,
    free_list: ?*FreeChunk,
    used_bytes: usize = 0,

    pub fn init(region: []align(granule) u8) Heap {
        assert(region.len >= 2 * granule);
        const len = std.mem.alignBackward(usize, region.len, granule);
        const first: *FreeChunk = @ptrCast(region.ptr);
        first.* = .{ .size = len, .next = null };
        return .{ .start = @intFromPtr(region.ptr), .end = @intFromPtr(region.ptr) + len, .free_list = first };
    }

    pub fn allocator(self: *Heap) std.mem.Allocator {
        return .{ .ptr = self, .vtable = &.{ .alloc = alloc, .resize = resize, .remap = remap, .free = free } };
    }

    fn alloc(ctx: *anyopaque, len: usize, alignment: std.mem.Alignment, _: usize) ?[*]u8 {
        const self: *Heap = @ptrCast(@alignCast(ctx));
        const align_bytes = @max(alignment.toByteUnits(), granule);
        var prev: ?*FreeChunk = null;
        var it = self.free_list;
        while (it) |chunk| : ({
            prev = chunk;
            it = chunk.next;
        }) {
            const start = @intFromPtr(chunk);
            const payload = std.mem.alignForward(usize, start + granule, align_bytes);
            const need = std.mem.alignForward(usize, payload + len, granule) - start;
            if (need > chunk.size) continue;
            var taken = chunk.size;
            var next = chunk.next;
            if (chunk.size - need >= 2 * granule) { // split: the tail stays free
                const tail: *FreeChunk = @ptrFromInt(start + need);
                tail.* = .{ .size = chunk.size - need, .next = chunk.next };
                next = tail;
                taken = need;
            }
            if (prev) |p| p.next = next else self.free_list = next;
            const header: *UsedHeader = @ptrFromInt(payload - granule);
            header.* = .{ .chunk_start = start, .chunk_size = taken };
            self.used_bytes += taken;
            return @ptrFromInt(payload);
        }
        return null;
    }

    fn headerOf(self: *const Heap, memory: []u8) *UsedHeader {
        const header: *UsedHeader = @ptrFromInt(@intFromPtr(memory.ptr) - granule);
        assert(header.chunk_start >= self.start and header.chunk_start + header.chunk_size <= self.end);
        return header;
    }

    fn resize(ctx: *anyopaque, memory: []u8, _: std.mem.Alignment, new_len: usize, _: usize) bool {
        const self: *Heap = @ptrCast(@alignCast(ctx));
        const header = self.headerOf(memory);
        return @intFromPtr(memory.ptr) + new_len <= header.chunk_start + header.chunk_size;
    }

    fn remap(ctx: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_len: usize, ret_addr: usize) ?[*]u8 {
        return if (resize(ctx, memory, alignment, new_len, ret_addr)) memory.ptr else null;
    }

    fn free(ctx: *anyopaque, memory: []u8, _: std.mem.Alignment, _: usize) void {
        const self: *Heap = @ptrCast(@alignCast(ctx));
        const header = self.headerOf(memory);
        const start = header.chunk_start;
        const size = header.chunk_size;
        self.used_bytes -= size;
        var prev: ?*FreeChunk = null;
        var next = self.free_list;
        while (next) |n| : (next = n.next) {
            if (@intFromPtr(n) > start) break;
            assert(@intFromPtr(n) + n.size <= start); // never a double free
            prev = n;
        }
        const chunk: *FreeChunk = @ptrFromInt(start);
        chunk.* = .{ .size = size, .next = next };
        if (next) |n| {
            if (start + size == @intFromPtr(n)) {
                chunk.size += n.size;
                chunk.next = n.next;
            }
        }
        if (prev) |p| {
            if (@intFromPtr(p) + p.size == start) {
                p.size += chunk.size;
                p.next = chunk.next;
            } else p.next = chunk;
        } else self.free_list = chunk;
    }

    /// Bytes in the largest free chunk (the biggest allocation that can still succeed, less a header).
    pub fn largestFree(self: *const Heap) usize {
        var best: usize = 0;
        var it = self.free_list;
        while (it) |c| : (it = c.next) best = @max(best, c.size);
        return best;
    }
};

test "allocations are aligned, disjoint, and freeing everything merges back to one chunk" {
    var region: [64 * 1024]u8 align(16) = undefined;
    var heap = Heap.init(&region);
    const a = heap.allocator();
    var prng = std.Random.DefaultPrng.init(42);
    const rand = prng.random();
    var live: [64]?[]u8 = @splat(null);
    for (0..5000) |_| {
        const i = rand.uintLessThan(usize, live.len);
        if (live[i]) |m| {
            for (m) |b| try std.testing.expectEqual(@as(u8, @truncate(i)), b);
            a.free(m);
            live[i] = null;
        } else {
            const len = rand.uintLessThan(usize, 700) + 1;
            const m = a.alignedAlloc(u8, .fromByteUnits(64), len) catch continue;
            try std.testing.expect(@intFromPtr(m.ptr) % 64 == 0);
            @memset(m, @truncate(i));
            live[i] = m;
        }
    }
    for (&live) |*slot| if (slot.*) |m| {
        a.free(m);
        slot.* = null;
    };
    try std.testing.expectEqual(@as(usize, 0), heap.used_bytes);
    try std.testing.expectEqual(region.len, heap.largestFree());
}

test "exhaustion returns OutOfMemory, not a crash" {
    var region: [1024]u8 align(16) = undefined;
    var heap = Heap.init(&region);
    try std.testing.expectError(error.OutOfMemory, heap.allocator().alloc(u8, 2048));
    const m = try heap.allocator().alloc(u8, 900);
    try std.testing.expectError(error.OutOfMemory, heap.allocator().alloc(u8, 200));
    heap.allocator().free(m);
    _ = try heap.allocator().alloc(u8, 200);
}
