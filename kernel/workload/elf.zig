//! Validation of a workload's ELF64 image before anything of it is mapped. The image is untrusted
//! input: every offset, size and address is checked, with overflow, against the file and against
//! the user window the kernel will map it into. Pure.
const std = @import("std");

pub const max_segments = 8;
pub const page_size: u64 = 4096;

pub const Segment = struct {
    vaddr: u64,
    mem_size: u64,
    file_offset: u64,
    file_size: u64,
    writable: bool,
    executable: bool,
};

pub const Image = struct {
    entry: u64,
    segments: [max_segments]Segment = undefined,
    segment_count: usize = 0,

    pub fn loadSegments(self: *const Image) []const Segment {
        return self.segments[0..self.segment_count];
    }
};

pub const Error = error{
    TooSmall,
    BadMagic,
    NotElf64LittleEndian,
    NotX86_64,
    NotExecutable,
    BadProgramHeaders,
    TooManySegments,
    SegmentOutsideFile,
    SegmentOutsideWindow,
    SegmentsOverlap,
    SegmentsSharePage,
    WritableAndExecutable,
    EntryOutsideCode,
    NoSegments,
};

const pt_load = 1;
const pf_x = 1;
const pf_w = 2;

fn rd(comptime T: type, file: []const u8, off: usize) T {
    return std.mem.readInt(T, file[off..][0..@sizeOf(T)], .little);
}

/// Segments must lie in [window_lo, window_hi); page alignment is the loader's to apply.
pub fn parse(file: []const u8, window_lo: u64, window_hi: u64) Error!Image {
    if (file.len < 64) return error.TooSmall;
    if (!std.mem.eql(u8, file[0..4], "\x7fELF")) return error.BadMagic;
    if (file[4] != 2 or file[5] != 1) return error.NotElf64LittleEndian;
    if (rd(u16, file, 18) != 62) return error.NotX86_64;
    if (rd(u16, file, 16) != 2) return error.NotExecutable; // ET_EXEC
    const phoff = rd(u64, file, 32);
    const phentsize = rd(u16, file, 54);
    const phnum = rd(u16, file, 56);
    if (phentsize != 56) return error.BadProgramHeaders;
    const table_end = std.math.add(u64, phoff, @as(u64, phnum) * 56) catch return error.BadProgramHeaders;
    if (table_end > file.len) return error.BadProgramHeaders;

    var image = Image{ .entry = rd(u64, file, 24) };
    var entry_ok = false;
    for (0..phnum) |i| {
        const ph: usize = @intCast(phoff + i * 56);
        if (rd(u32, file, ph) != pt_load) continue;
        const flags = rd(u32, file, ph + 4);
        const seg = Segment{
            .file_offset = rd(u64, file, ph + 8),
            .vaddr = rd(u64, file, ph + 16),
            .file_size = rd(u64, file, ph + 32),
            .mem_size = rd(u64, file, ph + 40),
            .writable = flags & pf_w != 0,
            .executable = flags & pf_x != 0,
        };
        if (seg.mem_size == 0) continue;
        if (seg.file_size > seg.mem_size) return error.SegmentOutsideFile;
        const file_end = std.math.add(u64, seg.file_offset, seg.file_size) catch return error.SegmentOutsideFile;
        if (file_end > file.len) return error.SegmentOutsideFile;
        const mem_end = std.math.add(u64, seg.vaddr, seg.mem_size) catch return error.SegmentOutsideWindow;
        if (seg.vaddr < window_lo or mem_end > window_hi) return error.SegmentOutsideWindow;
        // W^X: no page is ever writable and executable, so nothing a workload writes can run.
        if (seg.writable and seg.executable) return error.WritableAndExecutable;
        // Each page takes its rights from one segment: two segments sharing an edge page would
        // give it the union of theirs (code made writable, data made executable).
        for (image.loadSegments()) |other| {
            if (seg.vaddr < other.vaddr + other.mem_size and other.vaddr < mem_end) return error.SegmentsOverlap;
            const lo = std.mem.alignBackward(u64, seg.vaddr, page_size);
            const hi = std.mem.alignForward(u64, mem_end, page_size);
            const other_lo = std.mem.alignBackward(u64, other.vaddr, page_size);
            const other_hi = std.mem.alignForward(u64, other.vaddr + other.mem_size, page_size);
            if (lo < other_hi and other_lo < hi) return error.SegmentsSharePage;
        }
        if (image.segment_count == max_segments) return error.TooManySegments;
        image.segments[image.segment_count] = seg;
        image.segment_count += 1;
        if (seg.executable and image.entry >= seg.vaddr and image.entry < mem_end) entry_ok = true;
    }
    if (image.segment_count == 0) return error.NoSegments;
    if (!entry_ok) return error.EntryOutsideCode;
    return image;
}

// ---- tests -------------------------------------------------------------------------------------

fn testElf(buf: []u8, vaddr: u64, entry: u64, filesz: u64, memsz: u64) void {
    @memset(buf, 0);
    @memcpy(buf[0..4], "\x7fELF");
    buf[4] = 2;
    buf[5] = 1;
    std.mem.writeInt(u16, buf[16..18], 2, .little);
    std.mem.writeInt(u16, buf[18..20], 62, .little);
    std.mem.writeInt(u64, buf[24..32], entry, .little);
    std.mem.writeInt(u64, buf[32..40], 64, .little);
    std.mem.writeInt(u16, buf[54..56], 56, .little);
    std.mem.writeInt(u16, buf[56..58], 1, .little);
    std.mem.writeInt(u32, buf[64..68], pt_load, .little);
    std.mem.writeInt(u32, buf[68..72], pf_x | 4, .little);
    std.mem.writeInt(u64, buf[72..80], 0, .little);
    std.mem.writeInt(u64, buf[80..88], vaddr, .little);
    std.mem.writeInt(u64, buf[96..104], filesz, .little);
    std.mem.writeInt(u64, buf[104..112], memsz, .little);
}

test "a well-formed image parses" {
    var buf: [256]u8 = undefined;
    testElf(&buf, 0x10000, 0x10010, 200, 4096);
    const image = try parse(&buf, 0x10000, 0x20000);
    try std.testing.expectEqual(@as(usize, 1), image.loadSegments().len);
    try std.testing.expect(image.loadSegments()[0].executable);
}

test "hostile images are refused" {
    var buf: [256]u8 = undefined;
    testElf(&buf, 0x10000, 0x10010, 200, 4096);
    try std.testing.expectError(error.TooSmall, parse(buf[0..10], 0x10000, 0x20000));
    try std.testing.expectError(error.SegmentOutsideWindow, parse(&buf, 0x11000, 0x20000));
    try std.testing.expectError(error.SegmentOutsideWindow, parse(&buf, 0x10000, 0x10800));
    testElf(&buf, 0x10000, 0x10010, 300, 4096); // file size past the end of the file
    try std.testing.expectError(error.SegmentOutsideFile, parse(&buf, 0x10000, 0x20000));
    testElf(&buf, 0x10000, 0x10010, 200, 100); // file size > memory size
    try std.testing.expectError(error.SegmentOutsideFile, parse(&buf, 0x10000, 0x20000));
    testElf(&buf, std.math.maxInt(u64) - 10, 0x10010, 0, 4096); // address wraps
    try std.testing.expectError(error.SegmentOutsideWindow, parse(&buf, 0x10000, std.math.maxInt(u64)));
    testElf(&buf, 0x10000, 0x50000, 200, 4096);
    try std.testing.expectError(error.EntryOutsideCode, parse(&buf, 0x10000, 0x20000));
    testElf(&buf, 0x10000, 0x10010, 200, 4096);
    std.mem.writeInt(u64, buf[32..40], std.math.maxInt(u64) - 8, .little); // header table offset wraps
    try std.testing.expectError(error.BadProgramHeaders, parse(&buf, 0x10000, 0x20000));
    testElf(&buf, 0x10000, 0x10010, 200, 4096);
    buf[0] = 0;
    try std.testing.expectError(error.BadMagic, parse(&buf, 0x10000, 0x20000));
}

test "W^X: a writable and executable segment is refused" {
    var buf: [256]u8 = undefined;
    testElf(&buf, 0x10000, 0x10010, 200, 4096);
    std.mem.writeInt(u32, buf[68..72], pf_x | pf_w | 4, .little);
    try std.testing.expectError(error.WritableAndExecutable, parse(&buf, 0x10000, 0x20000));
}

test "two segments sharing a page are refused, even without sharing bytes" {
    var buf: [512]u8 = undefined;
    testElf(&buf, 0x10000, 0x10010, 200, 0x800);
    std.mem.writeInt(u16, buf[56..58], 2, .little);
    @memcpy(buf[120..176], buf[64..120]); // a second header: data right after the code, same page
    std.mem.writeInt(u32, buf[124..128], pf_w | 4, .little);
    std.mem.writeInt(u64, buf[136..144], 0x10800, .little);
    try std.testing.expectError(error.SegmentsSharePage, parse(&buf, 0x10000, 0x20000));
    std.mem.writeInt(u64, buf[136..144], 0x11000, .little); // next page: fine
    _ = try parse(&buf, 0x10000, 0x20000);
}
