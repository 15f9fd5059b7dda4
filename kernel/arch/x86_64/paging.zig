//! Ring-3 mappings. The kernel half (PML4 entry 0, boot.S) is a static, supervisor-only identity
//! map; the workload's half is built here under PML4 entry 1 with 4 KiB pages, the user bit set at
//! every level. Each workload page is also reachable by the kernel through the identity map.
const std = @import("std");
const assert = std.debug.assert;
const layout = @import("../../layout.zig");
const cpu = @import("cpu.zig");
const PageAllocator = @import("../../mem/page_alloc.zig").PageAllocator;

const present: u64 = 1 << 0;
const writable: u64 = 1 << 1;
const user: u64 = 1 << 2;
const huge: u64 = 1 << 7;
const no_execute: u64 = 1 << 63;
const addr_mask: u64 = 0x000F_FFFF_FFFF_F000;

extern var boot_pml4: [512]u64;
extern var boot_pt0: [512]u64;
extern const stack_guard_boot: u8;
extern const stack_guard_trap: u8;
extern const stack_guard_fault: u8;

/// Whether `addr` lies in one of the guard pages under the kernel stacks.
pub fn isStackGuard(addr: u64) bool {
    for ([_]u64{ @intFromPtr(&stack_guard_boot), @intFromPtr(&stack_guard_trap), @intFromPtr(&stack_guard_fault) }) |guard| {
        if (addr >= guard and addr < guard + layout.page_size) return true;
    }
    return false;
}

/// Unmaps page 0 (a null pointer in ring 0 must fault) and the page under each kernel stack
/// (boot.S maps the first 2 MiB with 4 KiB pages for this).
pub fn unmapTrapPages() void {
    boot_pt0[0] = 0;
    cpu.invlpg(0);
    for ([_]u64{ @intFromPtr(&stack_guard_boot), @intFromPtr(&stack_guard_trap), @intFromPtr(&stack_guard_fault) }) |guard| {
        assert(guard % layout.page_size == 0 and guard < 2 << 20);
        boot_pt0[@intCast(guard / layout.page_size)] = 0;
        cpu.invlpg(guard);
    }
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
    leaf.* = phys | present | user | (if (access.write) writable else 0) | (if (access.execute) 0 else no_execute);
}

/// The leaf entry of a mapped user page, or null.
fn userLeaf(virt: u64) ?*u64 {
    if (!isUser(virt)) return null;
    var table: *[512]u64 = &boot_pml4;
    var level: u6 = 3;
    while (level > 0) : (level -= 1) {
        const entry = table[index(virt, level)];
        if (entry & present == 0 or entry & user == 0) return null;
        table = tableAt(entry);
    }
    const leaf = &table[index(virt, 0)];
    if (leaf.* & present == 0 or leaf.* & user == 0) return null;
    return leaf;
}

/// Physical address behind a mapped user page.
pub fn userPhys(virt: u64) ?u64 {
    const leaf = userLeaf(virt) orelse return null;
    return leaf.* & addr_mask;
}

/// Widens a mapped user page's rights (two ELF segments sharing an edge page).
pub fn widenUserPage(virt: u64, access: Access) void {
    const leaf = userLeaf(virt).?;
    if (access.write) leaf.* |= writable;
    if (access.execute) leaf.* &= ~no_execute;
    cpu.invlpg(virt);
}

/// Whether ring 3 may execute at `addr` (a mapped user page without no-execute).
pub fn userExecutable(addr: u64) bool {
    const leaf = userLeaf(std.mem.alignBackward(u64, addr, layout.page_size)) orelse return false;
    return leaf.* & no_execute == 0;
}

/// Whether ring 3 may read (or write) every byte of [addr, addr + len). Overflow, kernel addresses
/// and holes are all refused: this is the one check between a workload's pointer and the kernel.
pub fn userRangeOk(addr: u64, len: u64, write: bool) bool {
    if (len == 0) return true;
    const last = std.math.add(u64, addr, len - 1) catch return false;
    if (!isUser(addr) or !isUser(last)) return false;
    var page = std.mem.alignBackward(u64, addr, layout.page_size);
    while (page <= last) : (page += layout.page_size) {
        const leaf = userLeaf(page) orelse return false;
        if (write and leaf.* & writable == 0) return false;
    }
    return true;
}
