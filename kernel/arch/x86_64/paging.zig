//! Ring-3 mappings. The kernel half (PML4 entry 0, boot.S) is a static, supervisor-only identity
//! map; the workload's half is built here under PML4 entry 1 with 4 KiB pages, the user bit set at
//! every level. Each workload page is also reachable by the kernel through the identity map.
const std = @import("std");
const assert = std.debug.assert;
const layout = @import("../../layout.zig");
const cpu = @import("cpu.zig");
const PageAllocator = @import("../../mem/page_alloc.zig").PageAllocator;
const mem_bytes = @import("../../mem/bytes.zig");

const present: u64 = 1 << 0;
const writable: u64 = 1 << 1;
const user: u64 = 1 << 2;
const huge: u64 = 1 << 7;
const no_execute: u64 = 1 << 63;
const addr_mask: u64 = 0x000F_FFFF_FFFF_F000;

extern var boot_pml4: [512]u64;
extern var boot_pt0: [512]u64;
extern var boot_pt1: [512]u64;
extern const __text_start: u8;
extern const __text_end: u8;
extern const __rodata_start: u8;
extern const __rodata_end: u8;
extern const stack_guard_boot: u8;
extern const stack_guard_trap: u8;
extern const stack_guard_fault: u8;

/// The guard under each kernel stack (boot.S): two pages, so that a stack probe's fault leaves rsp
/// inside the guard and the exception's own push double-faults onto the IST stack.
const guard_bytes = 2 * layout.page_size;

/// Whether `addr` lies in one of the guard pages under the kernel stacks.
pub fn isStackGuard(addr: u64) bool {
    for ([_]u64{ @intFromPtr(&stack_guard_boot), @intFromPtr(&stack_guard_trap), @intFromPtr(&stack_guard_fault) }) |guard| {
        if (addr >= guard and addr < guard + guard_bytes) return true;
    }
    return false;
}

/// Unmaps page 0 (a null pointer in ring 0 must fault) and the guard pages under each kernel stack
/// (boot.S maps the first 2 MiB with 4 KiB pages for this).
pub fn unmapTrapPages() void {
    boot_pt0[0] = 0;
    cpu.invlpg(0);
    for ([_]u64{ @intFromPtr(&stack_guard_boot), @intFromPtr(&stack_guard_trap), @intFromPtr(&stack_guard_fault) }) |guard| {
        assert(guard % layout.page_size == 0 and guard + guard_bytes <= 2 << 20);
        var page = guard;
        while (page < guard + guard_bytes) : (page += layout.page_size) {
            boot_pt0[@intCast(page / layout.page_size)] = 0;
            cpu.invlpg(page);
        }
    }
}

/// The kernel image's own rights, page by page in the first 4 MiB (boot.S maps them with 4 KiB
/// pages, all writable, 1-2 MiB executable): text read-only and executable, rodata read-only,
/// everything else no-execute. With CR0.WP (set at boot) ring 0 cannot write its own code, and
/// with NX nothing it writes can run. Only the 1-2 MiB entries and the rodata ones are touched:
/// each ring-0 store is emulated under kvm-pvm.
pub fn protectKernel() void {
    const text_lo = @intFromPtr(&__text_start);
    const text_hi = @intFromPtr(&__text_end);
    const ro_lo = @intFromPtr(&__rodata_start);
    const ro_hi = @intFromPtr(&__rodata_end);
    assert(text_lo >= 1 << 20 and text_hi <= 2 << 20 and ro_lo >= text_hi and ro_hi <= 4 << 20);
    // Three plain runs, not a test per entry (the loop was ~3,500 of the boot's ring-0 instructions).
    const text_first = text_lo / layout.page_size;
    const text_end = std.mem.alignForward(u64, text_hi, layout.page_size) / layout.page_size;
    for (boot_pt0[256..text_first]) |*e| e.* |= no_execute;
    for (boot_pt0[text_first..text_end]) |*e| e.* &= ~writable;
    for (boot_pt0[text_end..]) |*e| e.* |= no_execute;
    // rodata, in 1-4 MiB: the two tables are consecutive in boot.S (one run of 1024 entries).
    assert(@intFromPtr(&boot_pt1) == @intFromPtr(&boot_pt0) + layout.page_size);
    const tables: *[1024]u64 = @ptrCast(&boot_pt0);
    for (tables[ro_lo / layout.page_size .. std.mem.alignForward(u64, ro_hi, layout.page_size) / layout.page_size]) |*e| e.* &= ~writable;
    cpu.writeCr3(cpu.readCr3()); // every kernel entry changed: flush them all
}

pub const Access = struct { write: bool = false, execute: bool = false };

pub const Error = error{ OutOfMemory, AlreadyMapped };

fn index(virt: u64, level: u6) usize {
    return @intCast((virt >> (12 + 9 * level)) & 0x1FF);
}

fn tableAt(entry: u64) *[512]u64 {
    return @ptrFromInt(entry & addr_mask);
}

fn nextTable(entry: *u64, pa: *PageAllocator) Error!*[512]u64 {
    if (entry.* & present == 0) {
        const page = pa.allocZeroed() orelse return error.OutOfMemory;
        entry.* = page | present | writable | user;
    }
    assert(entry.* & huge == 0);
    return tableAt(entry.*);
}

fn isUser(virt: u64) bool {
    return virt >= layout.user_base and virt < layout.user_end;
}

/// Maps one 4 KiB user page. Intermediate tables are writable and user; the leaf says what ring 3 may do.
pub fn mapUserPage(pa: *PageAllocator, virt: u64, phys: u64, access: Access) Error!void {
    assert(isUser(virt) and virt % layout.page_size == 0 and phys % layout.page_size == 0);
    const pdpt = try nextTable(&boot_pml4[index(virt, 3)], pa);
    const pd = try nextTable(&pdpt[index(virt, 2)], pa);
    const pt = try nextTable(&pd[index(virt, 1)], pa);
    const leaf = &pt[index(virt, 0)];
    if (leaf.* & present != 0) return error.AlreadyMapped;
    leaf.* = phys | userLeafBits(access);
}

pub const large_page_bytes: u64 = PageAllocator.large_page_bytes;
const large_addr_mask: u64 = 0x000F_FFFF_FFE0_0000;

/// Maps one 2 MiB user page (a page-directory entry with PS set): one entry instead of 512, and
/// no table to fill. The 2 MiB slot must be empty.
pub fn mapUserLargePage(pa: *PageAllocator, virt: u64, phys: u64, access: Access) Error!void {
    assert(isUser(virt) and virt % large_page_bytes == 0 and phys % large_page_bytes == 0);
    const pdpt = try nextTable(&boot_pml4[index(virt, 3)], pa);
    const pd = try nextTable(&pdpt[index(virt, 2)], pa);
    const entry = &pd[index(virt, 1)];
    if (entry.* & present != 0) return error.AlreadyMapped;
    entry.* = phys | huge | userLeafBits(access);
}

/// The leaf bits that give ring 3 `access` to a page (present, user, writable or not, NX or not).
pub fn userLeafBits(access: Access) u64 {
    return present | user | (if (access.write) writable else 0) | (if (access.execute) 0 else no_execute);
}

/// The empty leaves that map [virt, end) up to the end of the 2 MiB slot holding `virt`, the page
/// table made when missing: many leaves filled after one walk (each ring-0 memory access is
/// emulated under kvm-pvm, and a walk per page cost ~0.1 ms). AlreadyMapped when the slot is a
/// large page or any of the leaves is present.
pub fn emptyUserLeaves(pa: *PageAllocator, virt: u64, end: u64) Error![]u64 {
    assert(isUser(virt) and virt % layout.page_size == 0 and end % layout.page_size == 0 and virt < end);
    const pdpt = try nextTable(&boot_pml4[index(virt, 3)], pa);
    const pd = try nextTable(&pdpt[index(virt, 2)], pa);
    if (pd[index(virt, 1)] & huge != 0) return error.AlreadyMapped;
    const table = try nextTable(&pd[index(virt, 1)], pa);
    const slot_end = @min(end, std.mem.alignBackward(u64, virt, large_page_bytes) + large_page_bytes);
    const leaves = table[index(virt, 0)..][0..@intCast((slot_end - virt) / layout.page_size)];
    for (leaves) |leaf| if (leaf & present != 0) return error.AlreadyMapped;
    return leaves;
}

/// Takes the 2 MiB page mapped at `virt` out of the page tables and its TLB entry: its physical
/// address, or null when the slot holds no 2 MiB page (nothing, or a page table).
pub fn unmapUserLargePage(virt: u64) ?u64 {
    assert(isUser(virt) and virt % large_page_bytes == 0);
    const pd = userDirectory(virt) orelse return null;
    const entry = &pd[index(virt, 1)];
    if (entry.* & present == 0 or entry.* & huge == 0) return null;
    forgetUserPages();
    const phys = entry.* & large_addr_mask;
    entry.* = 0;
    cpu.invlpg(virt);
    return phys;
}

/// The leaves that map [virt, end) up to the end of the 2 MiB slot holding `virt`, present or
/// not, or null when the slot has no page table. The caller flushes the TLB for what it clears.
pub fn userLeaves(virt: u64, end: u64) ?[]u64 {
    assert(isUser(virt) and virt % layout.page_size == 0 and end % layout.page_size == 0 and virt < end);
    const pd = userDirectory(virt) orelse return null;
    const pde = pd[index(virt, 1)];
    if (pde & present == 0 or pde & huge != 0) return null;
    forgetUserPages(); // the caller may clear them
    const slot_end = @min(end, std.mem.alignBackward(u64, virt, large_page_bytes) + large_page_bytes);
    return tableAt(pde)[index(virt, 0)..][0..@intCast((slot_end - virt) / layout.page_size)];
}

/// Takes the page table of the 2 MiB slot at `virt` out of the page directory, so that the slot
/// can hold a 2 MiB page again: its physical address, or null when there is none. The caller has
/// cleared every leaf (not checked here: 512 emulated loads under kvm-pvm).
pub fn dropUserTable(virt: u64) ?u64 {
    assert(isUser(virt) and virt % large_page_bytes == 0);
    const pd = userDirectory(virt) orelse return null;
    const entry = &pd[index(virt, 1)];
    if (entry.* & present == 0 or entry.* & huge != 0) return null;
    forgetUserPages();
    const table = entry.* & addr_mask;
    entry.* = 0;
    cpu.invlpg(virt); // also drops the paging-structure caches' entries for the slot
    return table;
}

pub fn leafPhys(leaf: u64) ?u64 {
    return if (leaf & present != 0) leaf & addr_mask else null;
}

fn userDirectory(virt: u64) ?*[512]u64 {
    const pml4e = boot_pml4[index(virt, 3)];
    if (pml4e & present == 0) return null;
    const pdpte = tableAt(pml4e)[index(virt, 2)];
    if (pdpte & present == 0) return null;
    return tableAt(pdpte);
}

/// Whether nothing at all is mapped in the 2 MiB slot at `virt` (no large page, no page table).
pub fn largeSlotEmpty(virt: u64) bool {
    assert(isUser(virt) and virt % large_page_bytes == 0);
    const pml4e = boot_pml4[index(virt, 3)];
    if (pml4e & present == 0) return true;
    const pdpte = tableAt(pml4e)[index(virt, 2)];
    if (pdpte & present == 0) return true;
    return tableAt(pdpte)[index(virt, 1)] & present == 0;
}

/// The entry that maps a user address (a 4 KiB leaf, or a 2 MiB page-directory entry), or null.
const Leaf = struct {
    entry: *u64,
    large: bool,

    fn phys(self: Leaf, virt: u64) u64 {
        return if (self.large) (self.entry.* & large_addr_mask) + (virt % large_page_bytes) else (self.entry.* & addr_mask) + (virt % layout.page_size);
    }
};

fn userLeaf(virt: u64) ?Leaf {
    if (!isUser(virt)) return null;
    var table: *[512]u64 = &boot_pml4;
    var level: u6 = 3;
    while (level > 0) : (level -= 1) {
        const entry = &table[index(virt, level)];
        if (entry.* & present == 0 or entry.* & user == 0) return null;
        if (entry.* & huge != 0) {
            assert(level == 1); // only the kernel's own map uses 1 GiB pages, and never with user set
            return .{ .entry = entry, .large = true };
        }
        table = tableAt(entry.*);
    }
    const leaf = &table[index(virt, 0)];
    if (leaf.* & present == 0 or leaf.* & user == 0) return null;
    return .{ .entry = leaf, .large = false };
}

/// Physical address behind a mapped user address.
pub fn userPhys(virt: u64) ?u64 {
    const page = userPage(virt) orelse return null;
    return page.phys + virt % layout.page_size;
}

/// The kernel's own small TLB of ring-3 pages: the walks a call's pointer checks and copies make
/// (two per io_poll, more per batched network call), ~46 ring-0 instructions each, emulated under
/// kvm-pvm, become a lookup. Only mapped user pages are kept; every way a user mapping goes away
/// (userLeaves, unmapUserLargePage, dropUserTable: mem_unmap's) empties it first, and nothing
/// changes a mapping's rights after the workload is loaded.
const CachedPage = struct { virt: u64 = 0, phys: u64 = 0, writable: bool = false, large: bool = false };
var page_cache: [32]CachedPage = @splat(.{});

fn forgetUserPages() void {
    page_cache = @splat(.{});
}

/// The mapped user page holding `virt`: its physical address and whether ring 3 may write it.
fn userPage(virt: u64) ?CachedPage {
    const base = std.mem.alignBackward(u64, virt, layout.page_size);
    const slot = &page_cache[@intCast((base / layout.page_size) % page_cache.len)];
    if (slot.virt == base and base != 0) return slot.*;
    const leaf = userLeaf(base) orelse return null;
    slot.* = .{ .virt = base, .phys = leaf.phys(base), .writable = leaf.entry.* & writable != 0, .large = leaf.large };
    return slot.*;
}

/// Whether ring 3 may execute at `addr` (a mapped user page without no-execute).
pub fn userExecutable(addr: u64) bool {
    const leaf = userLeaf(addr) orelse return false;
    return leaf.entry.* & no_execute == 0;
}

/// The physical address of [addr, addr + len) when it lies in one page that page_cache holds (and
/// ring 3 may write it, if `write`): the common case of a call's buffers, answered without a call.
inline fn cachedSpan(addr: u64, len: u64, write: bool) ?u64 {
    const base = addr & ~(layout.page_size - 1);
    if (len == 0 or len > layout.page_size - (addr - base)) return null;
    const slot = &page_cache[@intCast((base / layout.page_size) % page_cache.len)];
    if (slot.virt != base or base == 0 or (write and !slot.writable)) return null;
    return slot.phys + (addr - base);
}

/// Whether ring 3 may read (or write) every byte of [addr, addr + len). Overflow, kernel addresses
/// and holes are all refused: this is the one check between a workload's pointer and the kernel.
/// Inline for its fast path (one cached page: only user pages are ever cached).
pub inline fn userRangeOk(addr: u64, len: u64, write: bool) bool {
    if (cachedSpan(addr, len, write) != null) return true;
    return userRangeWalk(addr, len, write);
}

noinline fn userRangeWalk(addr: u64, len: u64, write: bool) bool {
    if (len == 0) return true;
    const last = std.math.add(u64, addr, len - 1) catch return false;
    if (!isUser(addr) or !isUser(last)) return false;
    var page = std.mem.alignBackward(u64, addr, layout.page_size);
    while (page <= last) {
        const p = userPage(page) orelse return false;
        if (write and !p.writable) return false;
        const step = if (p.large) large_page_bytes else layout.page_size;
        page = std.math.add(u64, std.mem.alignBackward(u64, page, step), step) catch return true;
    }
    return true;
}

/// Copies between the kernel and ring-3 memory that userRangeOk accepted, a page at a time
/// through the kernel's identity map: the kernel never dereferences a user address, so SMAP stays
/// on without `stac`/`clac` (which kill a kvm-pvm guest in ring 0).
pub fn copyFromUser(addr: u64, dst: []u8) void {
    if (cachedSpan(addr, dst.len, false)) |phys| return mem_bytes.copy(dst, @as([*]const u8, @ptrFromInt(phys))[0..dst.len]);
    var done: usize = 0;
    while (done < dst.len) {
        const chunk = userChunk(addr + done, dst.len - done);
        mem_bytes.copy(dst[done..][0..chunk.len], chunk);
        done += chunk.len;
    }
}

pub fn copyToUser(addr: u64, src: []const u8) void {
    if (cachedSpan(addr, src.len, true)) |phys| return mem_bytes.copy(@as([*]u8, @ptrFromInt(phys))[0..src.len], src);
    var done: usize = 0;
    while (done < src.len) {
        const chunk = userChunk(addr + done, src.len - done);
        mem_bytes.copy(chunk, src[done..][0..chunk.len]);
        done += chunk.len;
    }
}

/// The part of [at, at + remaining) that lies in at's page, as kernel memory.
fn userChunk(at: u64, remaining: usize) []u8 {
    const n: usize = @intCast(@min(remaining, layout.page_size - at % layout.page_size));
    const p: [*]u8 = @ptrFromInt(userPhys(at).?);
    return p[0..n];
}
