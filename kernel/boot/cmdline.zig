//! The kernel command line: `zigu.*` options and the virtio-mmio devices the VMM lists there
//! (`virtio_mmio.device=<size>@<base>:<irq>`, QEMU microvm with acpi=off and Firecracker). Pure.
const std = @import("std");

pub const max_virtio_devices = 16;

/// Words kept by Args; a longer command line is searched word by word on every lookup instead.
pub const max_args = 64;

/// The command line split into words once. Splitting the whole line again for every option looked
/// up (a character-class test per byte) was ~26,000 of the boot's ~49,000 ring-0 instructions,
/// each emulated under kvm-pvm; a lookup now compares a few words' first bytes. Keep it in
/// container-level memory: a safety-checked build fills an `undefined` local with 0xAA, 1 KiB here.
pub const Args = struct {
    line: []const u8 = "",
    words: [max_args][]const u8 = undefined,
    count: usize = 0,
    overflow: bool = false,

    pub fn parse(self: *Args, line: []const u8) void {
        self.* = .{ .line = line };
        var i: usize = 0;
        while (i < line.len) {
            while (i < line.len and isSpace(line[i])) i += 1;
            const start = i;
            while (i < line.len and !isSpace(line[i])) i += 1;
            if (i == start) break;
            if (self.count == max_args) {
                self.overflow = true;
                return;
            }
            self.words[self.count] = line[start..i];
            self.count += 1;
        }
    }

    /// The words in order: the parsed ones, or the line split again when it had too many.
    const Words = struct {
        args: *const Args,
        index: usize = 0,
        split: std.mem.TokenIterator(u8, .any),

        fn next(self: *Words) ?[]const u8 {
            if (self.args.overflow) return self.split.next();
            if (self.index == self.args.count) return null;
            self.index += 1;
            return self.args.words[self.index - 1];
        }
    };

    fn wordsOf(self: *const Args) Words {
        return .{ .args = self, .split = std.mem.tokenizeAny(u8, self.line, " \t\n") };
    }

    /// The value of the last `key=value` word for `key`, or null.
    pub fn get(self: *const Args, key: []const u8) ?[]const u8 {
        var found: ?[]const u8 = null;
        var words = self.wordsOf();
        while (words.next()) |word| {
            if (word.len > key.len and word[key.len] == '=' and std.mem.eql(u8, word[0..key.len], key)) found = word[key.len + 1 ..];
        }
        return found;
    }

    /// Every virtio_mmio.device= entry, in command-line order.
    pub fn virtioDevices(self: *const Args, out: *[max_virtio_devices]VirtioMmio) Error![]VirtioMmio {
        var count: usize = 0;
        const key = "virtio_mmio.device=";
        var words = self.wordsOf();
        while (words.next()) |word| {
            if (!std.mem.startsWith(u8, word, key)) continue;
            if (count == max_virtio_devices) return error.TooManyDevices;
            out[count] = try parseVirtioMmio(word[key.len..]);
            count += 1;
        }
        return out[0..count];
    }
};

fn isSpace(c: u8) bool {
    return c == ' ' or c == '\t' or c == '\n';
}

/// The value of the last `key=value` token for `key`, or null: Args's lookup over the unsplit line.
pub fn get(cmdline: []const u8, key: []const u8) ?[]const u8 {
    const args = Args{ .line = cmdline, .overflow = true };
    return args.get(key);
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

/// Every virtio_mmio.device= entry, in command-line order: Args's over the unsplit line.
pub fn virtioDevices(cmdline: []const u8, out: *[max_virtio_devices]VirtioMmio) Error![]VirtioMmio {
    const args = Args{ .line = cmdline, .overflow = true };
    return args.virtioDevices(out);
}

test "get returns the last value of a key and ignores prefixes" {
    const line = "console=ttyS0 zigu.workload=hello zigu.workloadx=1 zigu.workload=fault";
    try std.testing.expectEqualStrings("fault", get(line, "zigu.workload").?);
    try std.testing.expect(get(line, "zigu.gate") == null);
    try std.testing.expect(get("zigu.gate", "zigu.gate") == null);
}

test "Args answers as get does, past its word limit too" {
    const S = struct {
        var args: Args = .{};
    };
    const line = "console=ttyS0 zigu.workload=hello zigu.workloadx=1 zigu.workload=fault virtio_mmio.device=512@0xfeb00e00:12 zigu.w=";
    S.args.parse(line);
    for ([_][]const u8{ "zigu.workload", "zigu.workloadx", "zigu.gate", "console", "zigu.w", "zigu", "" }) |key| {
        const want = get(line, key);
        const got = S.args.get(key);
        try std.testing.expectEqual(want == null, got == null);
        if (want) |w| try std.testing.expectEqualStrings(w, got.?);
    }
    var buf: [max_virtio_devices]VirtioMmio = undefined;
    try std.testing.expectEqual(@as(usize, 1), (try S.args.virtioDevices(&buf)).len);
    // Over max_args words: the lookups search the line itself.
    var long: [max_args * 4 + 32]u8 = undefined;
    var w = std.Io.Writer.fixed(&long);
    for (0..max_args + 1) |_| try w.writeAll("a=1 ");
    try w.writeAll("zigu.gate=trap");
    S.args.parse(w.buffered());
    try std.testing.expect(S.args.overflow);
    try std.testing.expectEqualStrings("trap", S.args.get("zigu.gate").?);
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
