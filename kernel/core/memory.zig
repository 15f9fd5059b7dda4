//! The workload's mem_map mappings, for both homes of the ABI: a bounded table of live mappings
//! sorted by address, the limit their bytes count against, and where a new one goes in an address
//! window. Pure: the platform maps and unmaps the memory itself (the kernel with its page tables,
//! the host library with mmap); this file decides what may be mapped and unmapped. Lengths reach
//! it already checked by the generated decoder (call_args.zig): whole pages, 1 page to
//! `max_map_bytes`.
const std = @import("std");
const assert = std.debug.assert;
const numbers = @import("abi_numbers.zig");

pub const max_mappings: usize = numbers.max_mappings;
pub const page_bytes: u64 = numbers.page_bytes;
pub const large_page_bytes: u64 = numbers.large_page_bytes;
/// No limit: what the machine's memory allows (the platform's own exhaustion is ERR_NO_SPACE).
pub const unlimited: u64 = std.math.maxInt(u64);

pub const Region = struct { addr: u64, len: u64 };

/// What a platform mapped: where, and the part of it that may hold old bytes (recycled memory),
/// which must be zeroed before the workload runs again (len 0: all of it is zero already).
pub const Mapped = struct { addr: u64, dirty: Region = .{ .addr = 0, .len = 0 } };

pub const Error = error{ NoSpace, Invalid };

/// Windows a platform places mappings in (the guest has two: small and large mappings).
pub const max_windows = 2;

/// A window's floor: every byte of [base, addr) is mapped, so a search for room starts at `addr`.
/// Only a hint (placement is correct without it), but it makes the usual pattern, mapping more
/// and more above what is mapped already, a binary search instead of a walk of the whole table:
/// ring-0 code is emulated under kvm-pvm, where each step of that walk cost ~0.5 ms (Debug).
const Floor = struct { base: u64, addr: u64 };

pub const Mappings = struct {
    limit_bytes: u64 = unlimited,
    mapped_bytes: u64 = 0,
    count: usize = 0,
    /// Only [0, count) is ever read, sorted by address, never overlapping.
    regions: [max_mappings]Region = undefined,
    floors: [max_windows]Floor = undefined,
    floor_count: usize = 0,

    pub fn init(self: *Mappings, limit_bytes: u64) void {
        self.* = .{ .limit_bytes = limit_bytes };
    }

    /// Keeps a floor for the window that starts at `base` (see Floor).
    pub fn addWindow(self: *Mappings, base: u64) void {
        assert(self.floor_count < max_windows and self.count == 0);
        self.floors[self.floor_count] = .{ .base = base, .addr = base };
        self.floor_count += 1;
    }

    fn floorOf(self: *const Mappings, base: u64) u64 {
        for (self.floors[0..self.floor_count]) |f| if (f.base == base) return f.addr;
        return base;
    }

    /// Whether `len` more bytes fit under the limit and one more mapping in the table.
    pub fn admit(self: *const Mappings, len: u64) Error!void {
        assert(self.mapped_bytes <= self.limit_bytes);
        if (self.count == max_mappings) return error.NoSpace;
        if (len > self.limit_bytes - self.mapped_bytes) return error.NoSpace;
    }

    /// The lowest address in [base, end), aligned to `alignment`, where `len` bytes overlap no
    /// mapping; null when none is left. Lowest first: unmapped ranges are reused before fresh
    /// address space, so a workload that maps and unmaps for ever never runs out of it.
    pub fn place(self: *const Mappings, len: u64, alignment: u64, base: u64, end: u64) ?u64 {
        assert(std.math.isPowerOfTwo(alignment) and base <= end and len > 0);
        var cursor = self.floorOf(base);
        for (self.regions[self.lowerBound(cursor)..self.count]) |r| {
            if (r.addr + r.len <= cursor) continue;
            const at = std.mem.alignForward(u64, cursor, alignment);
            if (at <= r.addr and r.addr - at >= len and at < end and end - at >= len) return at;
            cursor = @max(cursor, r.addr + r.len);
        }
        const at = std.mem.alignForward(u64, cursor, alignment);
        if (at < end and end - at >= len) return at;
        return null;
    }

    /// Records a mapping that `admit` allowed and the platform made.
    pub fn insert(self: *Mappings, addr: u64, len: u64) void {
        assert(self.count < max_mappings and len <= self.limit_bytes - self.mapped_bytes);
        const i = self.lowerBound(addr);
        // Never overlapping: the platform placed it in a hole.
        assert(i == self.count or addr + len <= self.regions[i].addr);
        assert(i == 0 or self.regions[i - 1].addr + self.regions[i - 1].len <= addr);
        @memmove(self.regions[i + 1 .. self.count + 1], self.regions[i..self.count]);
        self.regions[i] = .{ .addr = addr, .len = len };
        self.count += 1;
        self.mapped_bytes += len;
        for (self.floors[0..self.floor_count]) |*f| {
            if (f.addr != addr) continue;
            // Raised over this mapping and any that follow it without a gap.
            var j = i;
            while (j < self.count and self.regions[j].addr == f.addr) : (j += 1) f.addr += self.regions[j].len;
        }
    }

    /// Takes out the mapping that starts at `addr` and is `len` long. Anything else (no mapping
    /// there, part of one, more than one, memory mem_map never made: the stack, the ELF image) is
    /// `Invalid`, and nothing changes.
    pub fn remove(self: *Mappings, addr: u64, len: u64) Error!void {
        const i = self.lowerBound(addr);
        if (i == self.count or self.regions[i].addr != addr or self.regions[i].len != len) return error.Invalid;
        @memmove(self.regions[i .. self.count - 1], self.regions[i + 1 .. self.count]);
        self.count -= 1;
        for (self.floors[0..self.floor_count]) |*f| {
            if (addr >= f.base and addr < f.addr) f.addr = addr;
        }
        assert(self.mapped_bytes >= len);
        self.mapped_bytes -= len;
    }

    /// Whether [addr, addr + len) is exactly one live mapping.
    pub fn isMapping(self: *const Mappings, addr: u64, len: u64) bool {
        const i = self.lowerBound(addr);
        return i < self.count and self.regions[i].addr == addr and self.regions[i].len == len;
    }

    /// The index of the first region at or above `addr` (binary search: ring-0 code is emulated
    /// under kvm-pvm, and a table of 1024 is not walked on every call).
    fn lowerBound(self: *const Mappings, addr: u64) usize {
        var lo: usize = 0;
        var hi: usize = self.count;
        while (lo < hi) {
            const mid = lo + (hi - lo) / 2;
            if (self.regions[mid].addr < addr) lo = mid + 1 else hi = mid;
        }
        return lo;
    }
};

const testing = std.testing;

test "the limit refuses with NoSpace and unmapping gives the bytes back" {
    var m: Mappings = undefined;
    m.init(4 * page_bytes);
    try m.admit(4 * page_bytes);
    try testing.expectError(error.NoSpace, m.admit(5 * page_bytes));
    m.insert(0x10000, 3 * page_bytes);
    try testing.expectError(error.NoSpace, m.admit(2 * page_bytes));
    try m.admit(page_bytes);
    try m.remove(0x10000, 3 * page_bytes);
    try testing.expectEqual(@as(u64, 0), m.mapped_bytes);
    try m.admit(4 * page_bytes);
}

test "only an exact live mapping can be removed" {
    var m: Mappings = undefined;
    m.init(unlimited);
    m.insert(0x20000, 2 * page_bytes);
    m.insert(0x10000, page_bytes);
    try testing.expectError(error.Invalid, m.remove(0x20000, page_bytes)); // part of one
    try testing.expectError(error.Invalid, m.remove(0x21000, page_bytes)); // its tail
    try testing.expectError(error.Invalid, m.remove(0x10000, 3 * page_bytes)); // more than one
    try testing.expectError(error.Invalid, m.remove(0x40000, page_bytes)); // nothing there
    try m.remove(0x20000, 2 * page_bytes);
    try testing.expectError(error.Invalid, m.remove(0x20000, 2 * page_bytes)); // twice
    try testing.expectEqual(@as(usize, 1), m.count);
}

test "placement takes the lowest aligned hole and reuses unmapped space" {
    var m: Mappings = undefined;
    m.init(unlimited);
    m.addWindow(0x100000);
    const base: u64 = 0x100000;
    const end: u64 = base + 16 * large_page_bytes;
    const a = m.place(page_bytes, page_bytes, base, end).?;
    try testing.expectEqual(base, a);
    m.insert(a, page_bytes);
    const b = m.place(large_page_bytes, large_page_bytes, base, end).?;
    try testing.expectEqual(@as(u64, 2 << 20), b); // aligned up past the small one
    m.insert(b, large_page_bytes);
    const c = m.place(2 * page_bytes, page_bytes, base, end).?;
    try testing.expectEqual(base + page_bytes, c); // the hole below the large one
    m.insert(c, 2 * page_bytes);
    try m.remove(a, page_bytes);
    try testing.expectEqual(base, m.place(page_bytes, page_bytes, base, end).?);
    try testing.expect(m.place(16 * large_page_bytes, page_bytes, base, end) == null);
    try testing.expect(m.place(1 << 34, large_page_bytes, base, end) == null);
}

test "a table of max_mappings is full, and the sort survives random inserts and removes" {
    var m: Mappings = undefined;
    m.init(unlimited);
    const base: u64 = 0x80_0000_0000;
    const end: u64 = base + (1 << 36);
    const small_end: u64 = base + (1 << 30);
    m.addWindow(base);
    m.addWindow(small_end);
    var prng = std.Random.DefaultPrng.init(0x6d656d);
    const rnd = prng.random();
    var rounds: usize = 0;
    while (rounds < 20_000) : (rounds += 1) {
        if (m.count > 0 and rnd.boolean()) {
            const r = m.regions[rnd.uintLessThan(usize, m.count)];
            try m.remove(r.addr, r.len);
        } else {
            const len = page_bytes * (1 + rnd.uintLessThan(u64, 600));
            m.admit(len) catch {
                try testing.expectEqual(max_mappings, m.count);
                continue;
            };
            // As the guest places them: small ones low, large ones 2 MiB aligned above; the
            // hints must give what a search from the window's base gives.
            const at = if (len >= large_page_bytes) m.place(len, large_page_bytes, small_end, end).? else m.place(len, page_bytes, base, small_end).?;
            var plain = m;
            plain.floor_count = 0;
            try testing.expectEqual(if (len >= large_page_bytes) plain.place(len, large_page_bytes, small_end, end).? else plain.place(len, page_bytes, base, small_end).?, at);
            m.insert(at, len);
        }
        var total: u64 = 0;
        for (m.regions[0..m.count], 0..) |r, i| {
            total += r.len;
            if (i > 0) try testing.expect(m.regions[i - 1].addr + m.regions[i - 1].len <= r.addr);
        }
        try testing.expectEqual(total, m.mapped_bytes);
    }
}
