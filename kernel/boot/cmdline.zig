//! The kernel command line: `zigu.*` options and the virtio-mmio devices the VMM lists there
//! (`virtio_mmio.device=<size>@<base>:<irq>`, QEMU microvm with acpi=off and Firecracker). Pure.
const std = @import("std");

pub const max_virtio_devices = 16;

/// The value of the last `key=value` token for `key`, or null.
pub fn get(cmdline: []const u8, key: []const u8) ?[]const u8 {
    var found: ?[]const u8 = null;
    var it = std.mem.tokenizeAny(u8, cmdline, " \t\n");
    while (it.next()) |token| {
        if (token.len > key.len and std.mem.startsWith(u8, token, key) and token[key.len] == '=') {
            found = token[key.len + 1 ..];
        }
    }
    return found;
}

pub const VirtioMmio = struct { base: u64, size: u64, irq: u32 };

pub const Error = error{ BadVirtioMmio, TooManyDevices };

/// Parses `<size>[K|M|G]@<base>:<irq>` (the syntax of Linux's virtio_mmio.device=).
pub fn parseVirtioMmio(spec: []const u8) Error!VirtioMmio {
    const at = std.mem.indexOfScalar(u8, spec, '@') orelse return error.BadVirtioMmio;
    const colon = std.mem.indexOfScalarPos(u8, spec, at, ':') orelse return error.BadVirtioMmio;
    var size_text = spec[0..at];
    if (size_text.len == 0) return error.BadVirtioMmio;
    const shift: u6 = switch (size_text[size_text.len - 1]) {
        'K', 'k' => 10,
        'M', 'm' => 20,
        'G', 'g' => 30,
        else => 0,
    };
    if (shift != 0) size_text = size_text[0 .. size_text.len - 1];
    const size = std.fmt.parseInt(u64, size_text, 0) catch return error.BadVirtioMmio;
    if (size == 0 or size > (@as(u64, 1) << (63 - shift))) return error.BadVirtioMmio;
    const base = std.fmt.parseInt(u64, spec[at + 1 .. colon], 0) catch return error.BadVirtioMmio;
    var irq_text = spec[colon + 1 ..];
    if (std.mem.indexOfScalar(u8, irq_text, ':')) |i| irq_text = irq_text[0..i]; // optional :<id>
    const irq = std.fmt.parseInt(u32, irq_text, 0) catch return error.BadVirtioMmio;
    return .{ .base = base, .size = size << shift, .irq = irq };
}

/// Every virtio_mmio.device= entry, in command-line order.
pub fn virtioDevices(cmdline: []const u8, out: *[max_virtio_devices]VirtioMmio) Error![]VirtioMmio {
    var count: usize = 0;
    var it = std.mem.tokenizeAny(u8, cmdline, " \t\n");
    const key = "virtio_mmio.device=";
    while (it.next()) |token| {
        if (!std.mem.startsWith(u8, token, key)) continue;
        if (count == max_virtio_devices) return error.TooManyDevices;
        out[count] = try parseVirtioMmio(token[key.len..]);
        count += 1;
    }
    return out[0..count];
}

test "get returns the last value of a key and ignores prefixes" {
    const line = "console=ttyS0 zigu.workload=hello zigu.workloadx=1 zigu.workload=fault";
    try std.testing.expectEqualStrings("fault", get(line, "zigu.workload").?);
    try std.testing.expect(get(line, "zigu.gate") == null);
    try std.testing.expect(get("zigu.gate", "zigu.gate") == null);
}

test "virtio_mmio.device entries from QEMU and Firecracker parse" {
    var buf: [max_virtio_devices]VirtioMmio = undefined;
    const devs = try virtioDevices("acpi=off virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=4K@0xc0001000:5 pci=off", &buf);
    try std.testing.expectEqual(@as(usize, 2), devs.len);
    try std.testing.expectEqual(VirtioMmio{ .base = 0xfeb00e00, .size = 512, .irq = 12 }, devs[0]);
    try std.testing.expectEqual(VirtioMmio{ .base = 0xc0001000, .size = 4096, .irq = 5 }, devs[1]);
}

test "malformed virtio_mmio.device entries are errors" {
    for ([_][]const u8{ "", "512", "512@", "@0x1000:5", "4K@0x1000", "4Q@0x1000:5", "4K@zz:5", "4K@0x1000:x" }) |bad| {
        try std.testing.expectError(error.BadVirtioMmio, parseVirtioMmio(bad));
    }
}
