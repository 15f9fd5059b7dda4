//! Normalised boot information from either boot path: the PVH `hvm_start_info` (QEMU microvm and
//! Firecracker with the PVH note) or the Linux `boot_params` zero page (Firecracker's Linux 64-bit
//! protocol). Pure: physical memory is read through `Phys`, so the host tests feed it buffers.
const std = @import("std");

pub const Protocol = enum(u32) { pvh = 1, linux = 2 };

pub const max_regions = 64;
pub const max_modules = 8;
pub const max_cmdline_bytes = 2048;

pub const RegionKind = enum { usable, reserved, acpi_reclaimable, acpi_nvs, bad };

pub const Region = struct { base: u64, len: u64, kind: RegionKind };
pub const Module = struct { base: u64, len: u64 };

pub const Error = error{ BadMagic, NoMemoryMap, TooManyRegions, TooManyModules, Unreadable, CmdlineTooLong };

pub const BootInfo = struct {
    protocol: Protocol,
    regions: [max_regions]Region = undefined,
    region_count: usize = 0,
    modules: [max_modules]Module = undefined,
    module_count: usize = 0,
    cmdline_buf: [max_cmdline_bytes]u8 = undefined,
    cmdline_len: usize = 0,

    pub fn cmdline(self: *const BootInfo) []const u8 {
        return self.cmdline_buf[0..self.cmdline_len];
    }
    pub fn memoryMap(self: *const BootInfo) []const Region {
        return self.regions[0..self.region_count];
    }
    pub fn moduleList(self: *const BootInfo) []const Module {
        return self.modules[0..self.module_count];
    }
    pub fn usableBytes(self: *const BootInfo) u64 {
        var total: u64 = 0;
        for (self.memoryMap()) |r| {
            if (r.kind == .usable) total +|= r.len; // a VMM's map may claim anything
        }
        return total;
    }

    fn addRegion(self: *BootInfo, base: u64, len_claimed: u64, e820_type: u32) Error!void {
        // Clipped to the address space, so that base + len never overflows for the code after.
        const len = @min(len_claimed, std.math.maxInt(u64) - base);
        if (len == 0) return;
        if (self.region_count == max_regions) return error.TooManyRegions;
        self.regions[self.region_count] = .{ .base = base, .len = len, .kind = switch (e820_type) {
            1 => .usable,
            3 => .acpi_reclaimable,
            4 => .acpi_nvs,
            5 => .bad,
            else => .reserved,
        } };
        self.region_count += 1;
    }

    fn addModule(self: *BootInfo, base: u64, len_claimed: u64) Error!void {
        const len = @min(len_claimed, std.math.maxInt(u64) - base);
        if (len == 0) return;
        if (self.module_count == max_modules) return error.TooManyModules;
        self.modules[self.module_count] = .{ .base = base, .len = len };
        self.module_count += 1;
    }

    fn copyCmdline(self: *BootInfo, phys: Phys, addr: u64) Error!void {
        self.cmdline_len = 0;
        if (addr == 0) return;
        while (self.cmdline_len < max_cmdline_bytes) : (self.cmdline_len += 1) {
            const byte = (try phys.bytes(addr + self.cmdline_len, 1))[0];
            if (byte == 0) return;
            self.cmdline_buf[self.cmdline_len] = byte;
        }
        return error.CmdlineTooLong;
    }
};

/// A window on physical memory: the kernel's identity map, or a test buffer.
pub const Phys = struct {
    base: u64,
    mem: []const u8,

    pub fn bytes(self: Phys, addr: u64, len: usize) Error![]const u8 {
        if (addr < self.base) return error.Unreadable;
        const off = addr - self.base;
        if (off > self.mem.len or len > self.mem.len - off) return error.Unreadable;
        return self.mem[@intCast(off)..][0..len];
    }
    fn int(self: Phys, comptime T: type, addr: u64) Error!T {
        return std.mem.readInt(T, (try self.bytes(addr, @sizeOf(T)))[0..@sizeOf(T)], .little);
    }
};

pub const pvh_magic: u32 = 0x336e_c578;

/// hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), version 1 for the memory map.
/// Fills `info` in place: a BootInfo is ~4 KiB and Debug builds copy a returned one many times
/// over (68 KiB of stack, seen overflowing the boot stack).
pub fn fromPvh(info: *BootInfo, phys: Phys, start_info: u64) Error!void {
    if (try phys.int(u32, start_info) != pvh_magic) return error.BadMagic;
    info.* = .{ .protocol = .pvh };
    const version = try phys.int(u32, start_info + 4);
    const nr_modules = try phys.int(u32, start_info + 12);
    const modlist = try phys.int(u64, start_info + 16);
    try info.copyCmdline(phys, try phys.int(u64, start_info + 24));
    if (version < 1) return error.NoMemoryMap;
    const memmap = try phys.int(u64, start_info + 40);
    const entries = try phys.int(u32, start_info + 48);
    if (memmap == 0 or entries == 0) return error.NoMemoryMap;
    if (entries > max_regions) return error.TooManyRegions;
    for (0..entries) |i| {
        const e = memmap + i * 24; // hvm_memmap_table_entry: addr, size, type, reserved
        try info.addRegion(try phys.int(u64, e), try phys.int(u64, e + 8), try phys.int(u32, e + 16));
    }
    if (nr_modules > max_modules) return error.TooManyModules;
    for (0..nr_modules) |i| {
        const m = modlist + i * 32; // hvm_modlist_entry: paddr, size, cmdline_paddr, reserved
        try info.addModule(try phys.int(u64, m), try phys.int(u64, m + 8));
    }
}

/// Offsets in struct boot_params (Linux Documentation/arch/x86/zero-page.rst, boot.rst).
const zp = struct {
    const ext_ramdisk_image = 0x0c0;
    const ext_ramdisk_size = 0x0c4;
    const ext_cmd_line_ptr = 0x0c8;
    const e820_entries = 0x1e8;
    const ramdisk_image = 0x218;
    const ramdisk_size = 0x21c;
    const cmd_line_ptr = 0x228;
    const e820_table = 0x2d0;
    const e820_max_entries = 128;
};

pub fn fromLinuxZeroPage(info: *BootInfo, phys: Phys, zero_page: u64) Error!void {
    info.* = .{ .protocol = .linux };
    const entries = try phys.int(u8, zero_page + zp.e820_entries);
    if (entries == 0) return error.NoMemoryMap;
    if (entries > zp.e820_max_entries) return error.TooManyRegions;
    for (0..entries) |i| {
        const e = zero_page + zp.e820_table + i * 20; // packed: addr, size, type
        try info.addRegion(try phys.int(u64, e), try phys.int(u64, e + 8), try phys.int(u32, e + 16));
    }
    const cmd = (@as(u64, try phys.int(u32, zero_page + zp.ext_cmd_line_ptr)) << 32) | try phys.int(u32, zero_page + zp.cmd_line_ptr);
    try info.copyCmdline(phys, cmd);
    const rd = (@as(u64, try phys.int(u32, zero_page + zp.ext_ramdisk_image)) << 32) | try phys.int(u32, zero_page + zp.ramdisk_image);
    const rd_len = (@as(u64, try phys.int(u32, zero_page + zp.ext_ramdisk_size)) << 32) | try phys.int(u32, zero_page + zp.ramdisk_size);
    if (rd != 0) try info.addModule(rd, rd_len);
}

// ---- tests -------------------------------------------------------------------------------------

var scratch: BootInfo = undefined;

fn put(buf: []u8, off: usize, comptime T: type, v: T) void {
    std.mem.writeInt(T, buf[off..][0..@sizeOf(T)], v, .little);
}

test "PVH start info gives memory map, command line and modules" {
    var mem: [4096]u8 = @splat(0);
    const base: u64 = 0x1000;
    put(&mem, 0, u32, pvh_magic);
    put(&mem, 4, u32, 1);
    put(&mem, 12, u32, 1);
    put(&mem, 16, u64, base + 0x200);
    put(&mem, 24, u64, base + 0x100);
    put(&mem, 40, u64, base + 0x300);
    put(&mem, 48, u32, 2);
    @memcpy(mem[0x100..][0..11], "console=x\x00y");
    put(&mem, 0x200, u64, 0x400000);
    put(&mem, 0x208, u64, 0x1234);
    put(&mem, 0x300, u64, 0);
    put(&mem, 0x308, u64, 0x9fc00);
    put(&mem, 0x310, u32, 1);
    put(&mem, 0x318, u64, 0x100000);
    put(&mem, 0x320, u64, 0x7f00000);
    put(&mem, 0x328, u32, 2);
    var info: BootInfo = undefined;
    try fromPvh(&info, .{ .base = base, .mem = &mem }, base);
    try std.testing.expectEqual(Protocol.pvh, info.protocol);
    try std.testing.expectEqualStrings("console=x", info.cmdline());
    try std.testing.expectEqual(@as(usize, 2), info.memoryMap().len);
    try std.testing.expectEqual(RegionKind.usable, info.memoryMap()[0].kind);
    try std.testing.expectEqual(RegionKind.reserved, info.memoryMap()[1].kind);
    try std.testing.expectEqual(@as(u64, 0x9fc00), info.usableBytes());
    try std.testing.expectEqual(@as(u64, 0x400000), info.moduleList()[0].base);
}

test "PVH start info is refused without its magic or memory map" {
    var mem: [256]u8 = @splat(0);
    try std.testing.expectError(error.BadMagic, fromPvh(&scratch, .{ .base = 0, .mem = &mem }, 0));
    put(&mem, 0, u32, pvh_magic);
    try std.testing.expectError(error.NoMemoryMap, fromPvh(&scratch, .{ .base = 0, .mem = &mem }, 0));
    put(&mem, 4, u32, 1);
    try std.testing.expectError(error.NoMemoryMap, fromPvh(&scratch, .{ .base = 0, .mem = &mem }, 0));
}

test "a start info pointing outside memory is an error, not a crash" {
    var mem: [64]u8 = @splat(0);
    put(&mem, 0, u32, pvh_magic);
    put(&mem, 4, u32, 1);
    put(&mem, 40, u64, 0xdead_0000);
    put(&mem, 48, u32, 3);
    try std.testing.expectError(error.Unreadable, fromPvh(&scratch, .{ .base = 0, .mem = &mem }, 0));
    try std.testing.expectError(error.Unreadable, fromPvh(&scratch, .{ .base = 0, .mem = &mem }, 62));
}

test "Linux zero page gives e820 map, command line and initrd" {
    var mem: [0x2000]u8 = @splat(0);
    const zero_page: u64 = 0x7000;
    const base: u64 = 0x7000;
    mem[0x1e8] = 2;
    put(&mem, 0x2d0, u64, 0);
    put(&mem, 0x2d8, u64, 0x9fc00);
    put(&mem, 0x2e0, u32, 1);
    put(&mem, 0x2e4, u64, 0x100000);
    put(&mem, 0x2ec, u64, 0x7f00000);
    put(&mem, 0x2f4, u32, 1);
    put(&mem, 0x228, u32, 0x7000 + 0x1000);
    @memcpy(mem[0x1000..][0..17], "pci=off zigu.a=b\x00");
    put(&mem, 0x218, u32, 0x6000000);
    put(&mem, 0x21c, u32, 4096);
    var info: BootInfo = undefined;
    try fromLinuxZeroPage(&info, .{ .base = base, .mem = &mem }, zero_page);
    try std.testing.expectEqual(Protocol.linux, info.protocol);
    try std.testing.expectEqualStrings("pci=off zigu.a=b", info.cmdline());
    try std.testing.expectEqual(@as(u64, 0x9fc00 + 0x7f00000), info.usableBytes());
    try std.testing.expectEqual(@as(u64, 0x6000000), info.moduleList()[0].base);
}

test "an unterminated command line is refused" {
    var mem: [0x400 + max_cmdline_bytes + 64]u8 = @splat('a');
    @memset(mem[0..0x400], 0);
    mem[0x1e8] = 1;
    put(&mem, 0x2d8, u64, 4096);
    put(&mem, 0x2e0, u32, 1);
    put(&mem, 0x228, u32, 0x400);
    try std.testing.expectError(error.CmdlineTooLong, fromLinuxZeroPage(&scratch, .{ .base = 0, .mem = &mem }, 0));
}
