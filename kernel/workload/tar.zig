//! Reading the root image: a POSIX ustar archive (so `tar tf rootfs.img` shows what the kernel
//! sees). Untrusted input: headers are checksummed, sizes and offsets bounded by the image. Pure.
const std = @import("std");

pub const block_bytes = 512;
/// Entries looked at before giving up: an image is a handful of files.
pub const max_entries = 64;

pub const Error = error{ BadHeader, BadChecksum, Truncated, TooManyEntries };

fn octal(field: []const u8) Error!u64 {
    var v: u64 = 0;
    for (field) |c| {
        if (c == 0 or c == ' ') break;
        if (c < '0' or c > '7') return error.BadHeader;
        v = std.math.mul(u64, v, 8) catch return error.BadHeader;
        v += c - '0';
    }
    return v;
}

fn checksumOk(header: *const [block_bytes]u8) Error!bool {
    const stored = try octal(header[148..156]);
    var sum: u64 = 0;
    for (header, 0..) |b, i| sum += if (i >= 148 and i < 156) ' ' else b;
    return sum == stored;
}

/// The contents of the regular file `name` in the archive, or null when it has none.
pub fn find(image: []const u8, name: []const u8) Error!?[]const u8 {
    var offset: usize = 0;
    var entries: usize = 0;
    while (offset + block_bytes <= image.len) : (entries += 1) {
        if (entries == max_entries) return error.TooManyEntries;
        const header: *const [block_bytes]u8 = image[offset..][0..block_bytes];
        if (std.mem.allEqual(u8, header, 0)) return null; // end of archive
        if (!std.mem.eql(u8, header[257..262], "ustar")) return error.BadHeader;
        if (!try checksumOk(header)) return error.BadChecksum;
        const size = try octal(header[124..136]);
        const data_start = offset + block_bytes;
        if (size > image.len - data_start) return error.Truncated;
        const entry_name = std.mem.sliceTo(header[0..100], 0);
        const prefix = std.mem.sliceTo(header[345..500], 0);
        const typeflag = header[156];
        const regular = typeflag == '0' or typeflag == 0;
        if (regular and prefix.len == 0 and std.mem.eql(u8, entry_name, name)) return image[data_start..][0..@intCast(size)];
        offset = data_start + std.mem.alignForward(usize, @intCast(size), block_bytes);
    }
    return null;
}

fn testHeader(buf: *[block_bytes]u8, name: []const u8, size: usize) void {
    @memset(buf, 0);
    @memcpy(buf[0..name.len], name);
    _ = std.fmt.bufPrint(buf[124..136], "{o:0>11}", .{size}) catch unreachable;
    buf[156] = '0';
    @memcpy(buf[257..263], "ustar\x00");
    @memset(buf[148..156], ' ');
    var sum: u64 = 0;
    for (buf) |b| sum += b;
    _ = std.fmt.bufPrint(buf[148..156], "{o:0>6}\x00 ", .{sum}) catch unreachable;
}

test "finds files, refuses corrupt and truncated archives" {
    var image: [block_bytes * 6]u8 = @splat(0);
    testHeader(image[0..block_bytes], "policy", 8);
    @memcpy(image[block_bytes..][0..8], "log,time");
    testHeader(image[2 * block_bytes ..][0..block_bytes], "workload.elf", 600);
    image[3 * block_bytes] = 0x7f;
    try std.testing.expectEqualStrings("log,time", (try find(&image, "policy")).?);
    try std.testing.expectEqual(@as(usize, 600), (try find(&image, "workload.elf")).?.len);
    try std.testing.expect(try find(&image, "missing") == null);
    try std.testing.expectError(error.Truncated, find(image[0 .. 3 * block_bytes + 100], "workload.elf"));
    image[5] ^= 1; // corrupt the first header
    try std.testing.expectError(error.BadChecksum, find(&image, "policy"));
}
