//! The kernel's side of mem_map and mem_unmap: making and taking down the page-table entries of
//! a mapping that kernel/core/memory.zig placed in the window (layout.user_map_base ..
//! user_map_end). Shaped by kvm-pvm, as the loader is (loader.zig): the whole mapping before the
//! call returns (no page is ever mapped on a fault); one 2 MiB page for each whole, aligned 2 MiB
//! (one store instead of 512, and one TLB entry); and no zeroing in ring 0. Memory never handed
//! out is zero already; memory given back by mem_unmap is not, and its range is reported to the
//! caller (gate.zig), which zeroes it in ring 3, natively, before the workload runs again.
const std = @import("std");
const assert = std.debug.assert;
const layout = @import("../layout.zig");
const paging = @import("../arch/x86_64/paging.zig");
const cpu = @import("../arch/x86_64/cpu.zig");
const PageAllocator = @import("../mem/page_alloc.zig").PageAllocator;
const memory = @import("../core/memory.zig");

const large = paging.large_page_bytes;
const access: paging.Access = .{ .write = true };

/// Maps `len` bytes in the window where `mappings` has room; null when there is no room or no
/// memory left, with nothing left mapped.
pub fn map(pa: *PageAllocator, mappings: *const memory.Mappings, len: u64) ?memory.Mapped {
    const addr = if (len >= large)
        mappings.place(len, large, layout.user_map_large_base, layout.user_map_end)
    else
        mappings.place(len, layout.page_size, layout.user_map_base, layout.user_map_large_base);
    const at = addr orelse return null;
    var done: u64 = 0;
    var dirty = Span{};
    mapInto(pa, at, len, &done, &dirty) catch {
        unmap(pa, at, done);
        return null;
    };
    assert(done == len);
    return .{ .addr = at, .dirty = dirty.region() };
}

/// The smallest range that covers every dirty page of a mapping.
const Span = struct {
    lo: u64 = std.math.maxInt(u64),
    hi: u64 = 0,

    fn add(self: *Span, virt: u64, len: u64) void {
        self.lo = @min(self.lo, virt);
        self.hi = @max(self.hi, virt + len);
    }
    fn region(self: Span) memory.Region {
        return if (self.hi == 0) .{ .addr = 0, .len = 0 } else .{ .addr = self.lo, .len = self.hi - self.lo };
    }
};

fn mapInto(pa: *PageAllocator, addr: u64, len: u64, done: *u64, dirty: *Span) paging.Error!void {
    const end = addr + len;
    var virt = addr;
    while (virt < end) {
        const slot_end = @min(end, std.mem.alignBackward(u64, virt, large) + large);
        if (virt % large == 0 and slot_end - virt == large and paging.largeSlotEmpty(virt)) {
            if (pa.allocLargeUser()) |run| {
                paging.mapUserLargePage(pa, virt, run.phys, access) catch |err| {
                    pa.freeLarge(run.phys);
                    return err;
                };
                if (run.dirty) dirty.add(virt, large);
                virt = slot_end;
                done.* = virt - addr;
                continue;
            }
        }
        // 4 KiB pages: one walk for the slot (the placement leaves no page of it mapped).
        const leaves = try paging.emptyUserLeaves(pa, virt, slot_end);
        const bits = paging.userLeafBits(access);
        for (leaves) |*leaf| {
            const page = pa.allocUser() orelse return error.OutOfMemory;
            leaf.* = page.phys | bits;
            if (page.dirty) dirty.add(virt, layout.page_size);
            virt += layout.page_size;
            done.* = virt - addr;
        }
    }
}

/// Pages cleared one `invlpg` each up to this many; past it, one CR3 reload flushes them all.
const invlpg_max_pages = 32;

/// Takes [addr, addr + len) out of the page tables and gives its memory back. In the lower part
/// of the window page tables stay (the next small mapping there reuses them); in the upper part
/// each slot is the mapping's alone, and its page table goes too, so that the slot can take a
/// 2 MiB page next time.
pub fn unmap(pa: *PageAllocator, addr: u64, len: u64) void {
    assert(addr % layout.page_size == 0 and len % layout.page_size == 0);
    assert(addr >= layout.user_map_base and addr <= layout.user_map_end and len <= layout.user_map_end - addr);
    const end = addr + len;
    var virt = addr;
    var cleared: u64 = 0;
    while (virt < end) {
        const slot_end = @min(end, std.mem.alignBackward(u64, virt, large) + large);
        if (virt % large == 0 and slot_end - virt == large) {
            if (paging.unmapUserLargePage(virt)) |run| {
                pa.freeLarge(run);
                virt = slot_end;
                continue;
            }
        }
        if (paging.userLeaves(virt, slot_end)) |leaves| {
            for (leaves) |*leaf| {
                if (paging.leafPhys(leaf.*)) |phys| {
                    leaf.* = 0;
                    pa.free(phys);
                    if (cleared < invlpg_max_pages) cpu.invlpg(virt);
                    cleared += 1;
                }
                virt += layout.page_size;
            }
            const slot = std.mem.alignBackward(u64, slot_end - 1, large);
            if (slot >= layout.user_map_large_base) {
                if (paging.dropUserTable(slot)) |table| pa.free(table);
            }
        }
        virt = slot_end;
    }
    if (cleared > invlpg_max_pages) cpu.writeCr3(cpu.readCr3());
}
