//! Fuzz targets for everything the kernel parses from bytes it does not control: the root image
//! (tar.zig), the workload ELF (elf.zig), the command line (cmdline.zig), the boot information
//! of both protocols (bootinfo.zig), and the network policy's check of every frame a workload sends
//! or receives, with the policy's own text (netpolicy.zig). Each target mutates the inputs of its corpus
//! (tests/fuzz/corpus/<target>/, committed) for a bounded number of rounds, runs the parser in a
//! safety-checked build (an out-of-bounds access or an overflow is a panic, so a test failure),
//! and checks what the parser promises about its result. `zig build test` runs them as part of
//! the host tests; `zig build test -Dfuzz-rounds=N -Dfuzz-seed=S` runs longer or elsewhere, and a
//! failure reproduces with the same seed.
const std = @import("std");
const tar = @import("tar");
const elf = @import("elf");
const cmdline = @import("cmdline");
const bootinfo = @import("bootinfo");
const netpolicy = @import("netpolicy");
const options = @import("fuzz_options");

const max_input_bytes = 16 * 1024;

/// Values that tend to sit on boundaries: lengths, signs, magic numbers, octal digits.
const interesting_bytes = [_]u8{ 0, 1, 0x7f, 0x80, 0xff, '0', '7', '8', ' ', '=', ',', '@', ':', 'x', 'K' };
const interesting_words = [_]u64{ 0, 1, 0x1000, 0xfff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, std.math.maxInt(u64), std.math.maxInt(u64) - 1, 1 << 63, 0x8000_0000_00, 0x1000 + 0x100 };

const Mutator = struct {
    rand: std.Random,
    buf: [max_input_bytes]u8 = undefined,
    len: usize = 0,

    fn mutate(self: *Mutator, corpus: []const []const u8) []const u8 {
        const seed = corpus[self.rand.uintLessThan(usize, corpus.len)];
        self.len = @min(seed.len, max_input_bytes);
        @memcpy(self.buf[0..self.len], seed[0..self.len]);
        const steps = 1 + self.rand.uintLessThan(usize, 6);
        for (0..steps) |_| self.step(corpus);
        return self.buf[0..self.len];
    }

    fn step(self: *Mutator, corpus: []const []const u8) void {
        if (self.len == 0) {
            self.len = 1 + self.rand.uintLessThan(usize, 64);
            self.rand.bytes(self.buf[0..self.len]);
            return;
        }
        const at = self.rand.uintLessThan(usize, self.len);
        switch (self.rand.uintLessThan(u8, 8)) {
            0 => self.buf[at] ^= @as(u8, 1) << self.rand.int(u3),
            1 => self.buf[at] = interesting_bytes[self.rand.uintLessThan(usize, interesting_bytes.len)],
            2 => self.buf[at] = self.rand.int(u8),
            3 => if (at + 8 <= self.len) {
                const w = interesting_words[self.rand.uintLessThan(usize, interesting_words.len)];
                const width: usize = switch (self.rand.uintLessThan(u8, 3)) {
                    0 => 2,
                    1 => 4,
                    else => 8,
                };
                std.mem.writeInt(u64, self.buf[at..][0..8], if (width == 8) w else w & ((@as(u64, 1) << @intCast(width * 8)) - 1), .little);
            },
            4 => self.len = at, // truncate
            5 => { // duplicate a chunk further on
                const n = @min(self.rand.uintLessThan(usize, 64) + 1, self.len - at, max_input_bytes - self.len);
                std.mem.copyBackwards(u8, self.buf[at + n .. self.len + n], self.buf[at..self.len]);
                self.len += n;
            },
            6 => { // splice in the same region of another seed
                const other = corpus[self.rand.uintLessThan(usize, corpus.len)];
                if (at < other.len) {
                    const n = @min(other.len - at, self.len - at, 1 + self.rand.uintLessThan(usize, 512));
                    @memcpy(self.buf[at..][0..n], other[at..][0..n]);
                }
            },
            else => { // grow with zeros (end-of-archive blocks, padding)
                const n = @min(512, max_input_bytes - self.len);
                @memset(self.buf[self.len..][0..n], 0);
                self.len += n;
            },
        }
    }
};

fn within(inner: []const u8, outer: []const u8) bool {
    const lo = @intFromPtr(outer.ptr);
    const p = @intFromPtr(inner.ptr);
    return inner.len == 0 or (p >= lo and p + inner.len <= lo + outer.len);
}

fn rounds() usize {
    return options.rounds;
}

fn mutator(target: u64) Mutator {
    // One stream per target, so that adding a target does not change another's inputs.
    const state = struct {
        var prng: std.Random.DefaultPrng = undefined;
    };
    state.prng = std.Random.DefaultPrng.init(options.seed ^ (target *% 0x9E37_79B9_7F4A_7C15));
    return .{ .rand = state.prng.random() };
}

test "fuzz tar.find: every entry found lies inside the image; malformed archives are errors" {
    const corpus = [_][]const u8{ @embedFile("corpus/tar/packed.tar"), @embedFile("corpus/tar/policy-only.tar") };
    var m = mutator(1);
    var found: usize = 0;
    for (0..rounds()) |_| {
        const image = m.mutate(&corpus);
        for ([_][]const u8{ "workload.elf", "policy", "manifest.json", "" }) |name| {
            const file = tar.find(image, name) catch continue;
            if (file) |f| {
                try std.testing.expect(within(f, image));
                found += 1;
            }
        }
    }
    try std.testing.expect(found > 0); // the mutator still reaches the parser's accepting paths
}

test "fuzz elf.parse: accepted segments lie in the file and the window, W^X, no shared pages" {
    const corpus = [_][]const u8{ @embedFile("corpus/elf/two-segments.elf"), @embedFile("corpus/elf/one-segment.elf") };
    const lo: u64 = 0x80_0010_0000;
    const hi: u64 = 0x80_3000_0000;
    var m = mutator(2);
    var accepted: usize = 0;
    for (0..rounds()) |_| {
        const file = m.mutate(&corpus);
        const image = elf.parse(file, lo, hi) catch continue;
        accepted += 1;
        var entry_in_code = false;
        for (image.loadSegments(), 0..) |s, i| {
            try std.testing.expect(s.file_size <= s.mem_size and s.file_offset + s.file_size <= file.len);
            try std.testing.expect(s.vaddr >= lo and s.vaddr + s.mem_size <= hi);
            try std.testing.expect(!(s.writable and s.executable));
            for (image.loadSegments()[0..i]) |o| {
                const a = std.mem.alignBackward(u64, s.vaddr, 4096);
                const b = std.mem.alignForward(u64, s.vaddr + s.mem_size, 4096);
                try std.testing.expect(b <= std.mem.alignBackward(u64, o.vaddr, 4096) or a >= std.mem.alignForward(u64, o.vaddr + o.mem_size, 4096));
            }
            if (s.executable and image.entry >= s.vaddr and image.entry < s.vaddr + s.mem_size) entry_in_code = true;
        }
        try std.testing.expect(entry_in_code);
    }
    try std.testing.expect(accepted > 0);
}

test "fuzz cmdline: values are slices of the line; virtio devices are bounded and well-formed" {
    const corpus = [_][]const u8{ @embedFile("corpus/cmdline/disk.txt"), @embedFile("corpus/cmdline/firecracker.txt") };
    var m = mutator(3);
    var devices_seen: usize = 0;
    for (0..rounds()) |_| {
        const line = m.mutate(&corpus);
        for ([_][]const u8{ "zigu.workload", "zigu.caps", "zigu.arg", "zigu.epoch_ns", "console", "" }) |key| {
            if (cmdline.get(line, key)) |v| try std.testing.expect(within(v, line));
        }
        var out: [cmdline.max_virtio_devices]cmdline.VirtioMmio = undefined;
        const list = cmdline.virtioDevices(line, &out) catch continue;
        try std.testing.expect(list.len <= cmdline.max_virtio_devices);
        devices_seen += list.len;
    }
    try std.testing.expect(devices_seen > 0);
}

var info: bootinfo.BootInfo = undefined;

fn checkBootInfo() !void {
    try std.testing.expect(info.region_count <= bootinfo.max_regions);
    try std.testing.expect(info.module_count <= bootinfo.max_modules);
    try std.testing.expect(info.cmdline_len <= bootinfo.max_cmdline_bytes);
    _ = info.usableBytes();
    // What the kernel computes from them next (initMemory) must not overflow either.
    for (info.memoryMap()) |r| _ = try std.math.add(u64, r.base, r.len);
    for (info.moduleList()) |r| _ = try std.math.add(u64, r.base, r.len);
}

test "fuzz bootinfo: PVH start info and the Linux zero page stay within the memory they are given" {
    const base: u64 = 0x1000;
    const pvh = [_][]const u8{@embedFile("corpus/pvh/qemu.bin")};
    const linux = [_][]const u8{@embedFile("corpus/linux/firecracker.bin")};
    var m = mutator(4);
    var ok: usize = 0;
    for (0..rounds()) |_| {
        const mem = m.mutate(&pvh);
        if (bootinfo.fromPvh(&info, .{ .base = base, .mem = mem }, base)) |_| {
            ok += 1;
            try checkBootInfo();
        } else |_| {}
        const zp = m.mutate(&linux);
        if (bootinfo.fromLinuxZeroPage(&info, .{ .base = base, .mem = zp }, base)) |_| {
            ok += 1;
            try checkBootInfo();
        } else |_| {}
    }
    try std.testing.expect(ok > 0);
}

/// Frames as the network moves them: a TCP SYN, an ARP request, a DNS query over UDP, an ICMP echo.
fn seedFrames() [4][]const u8 {
    const S = struct {
        var syn = [_]u8{ 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00 } ++ [_]u8{ 0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2 } ++ [_]u8{ 0xc3, 0x50, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4 };
        var arp = [_]u8{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
        var dns = [_]u8{ 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00 } ++ [_]u8{ 0x45, 0, 0, 40, 0, 2, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 3 } ++ [_]u8{ 0xc0, 0x00, 0, 53, 0, 20, 0, 0, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
        var ping = [_]u8{ 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00 } ++ [_]u8{ 0x45, 0, 0, 28, 0, 3, 0, 0, 64, 1, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2 } ++ [_]u8{ 8, 0, 0, 0, 0, 1, 0, 1 };
    };
    return .{ &S.syn, &S.arp, &S.dns, &S.ping };
}

test "fuzz netpolicy: every frame is judged without reading past it; what passes is well-formed; policy text round-trips" {
    const seeds = seedFrames();
    var m = mutator(5);
    var p = netpolicy.Policy{};
    try netpolicy.set(&p, "address", "10.0.2.15/24");
    try netpolicy.set(&p, "dns", "10.0.2.3");
    try netpolicy.set(&p, "listen", "80,8080");
    try netpolicy.set(&p, "connect", "10.0.2.2/32:80,10.0.0.0/8:1000-2000");
    var passed: usize = 0;
    for (0..rounds()) |i| {
        const frame = m.mutate(&seeds);
        const dir: netpolicy.Direction = if (i % 2 == 0) .out else .in;
        if (!netpolicy.allows(&p, dir, frame)) continue;
        passed += 1;
        // What passes is ARP or one whole, unfragmented IPv4 packet inside the frame.
        try std.testing.expect(frame.len >= 42);
        const ethertype = std.mem.readInt(u16, frame[12..14], .big);
        if (ethertype == 0x0806) continue;
        try std.testing.expectEqual(@as(u16, 0x0800), ethertype);
        const ihl: usize = @as(usize, frame[14] & 0x0f) * 4;
        const total: usize = std.mem.readInt(u16, frame[16..18], .big);
        try std.testing.expect(ihl >= 20 and total >= ihl and total <= frame.len - 14);
        try std.testing.expectEqual(@as(u16, 0), std.mem.readInt(u16, frame[20..22], .big) & 0x3fff);
    }
    try std.testing.expect(passed > 0);
    // The policy's own text: parsed or refused; what parses formats and parses back the same.
    const texts = [_][]const u8{ "10.0.2.15/24", "80,8080", "10.0.2.2/32:80,1.2.3.0/24:*,9.9.9.9:1000-2000" };
    const keys = [_][]const u8{ "address", "listen", "connect" };
    var t = mutator(6);
    for (0..rounds() / 4) |i| {
        const text = t.mutate(&texts);
        var q = netpolicy.Policy{};
        netpolicy.set(&q, keys[i % keys.len], text) catch continue;
        var buf: [8192]u8 = undefined;
        var w = std.Io.Writer.fixed(&buf);
        try netpolicy.format(&q, &w);
        var r = netpolicy.Policy{};
        var lines = std.mem.splitScalar(u8, w.buffered(), '\n');
        while (lines.next()) |line| {
            const eq = std.mem.indexOfScalar(u8, line, '=') orelse continue;
            try netpolicy.set(&r, line[0..eq], line[eq + 1 ..]);
        }
        try std.testing.expectEqual(q.address, r.address);
        try std.testing.expectEqualSlices(u16, q.listen[0..q.listen_count], r.listen[0..r.listen_count]);
        try std.testing.expectEqual(q.connect_count, r.connect_count);
        for (q.connect[0..q.connect_count], r.connect[0..r.connect_count]) |a, b| {
            try std.testing.expect(a.matches(b.addr, b.port_lo) and a.matches(b.addr, b.port_hi) and a.prefix == b.prefix);
        }
    }
}
