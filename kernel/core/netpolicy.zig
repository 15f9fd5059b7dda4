//! The network policy and the check of every frame against it. Pure: the kernel (gate.zig, for the
//! frames a workload sends and receives under CAP_NET) and the host tests run the same code.
//!
//! The policy comes from `ukernel.toml`'s `[network]` section, which `ukernel pack` writes into
//! the image's policy file as `net.*` lines (or `zigu.net.*=` on the command line for initrd and
//! built-in workloads):
//!   net.address=10.0.2.15/24 | dhcp     the workload's own IPv4 address (default: dhcp)
//!   net.gateway=10.0.2.2                 the router
//!   net.dns=10.0.2.3                     the resolver (DNS to it always passes)
//!   net.listen=80,8080                   TCP/UDP ports the workload may serve on
//!   net.connect=10.0.2.2/32:80,0.0.0.0/0:*,1.2.3.4:1000-2000
//!                                        destinations it may reach (CIDR optional; port, range or *)
//! ARP, DHCP, DNS to the resolver and ICMP echo replies pass whenever CAP_NET is active; anything
//! else must match the listen or connect lists. The ring-3 network library reads the same policy
//! (net_info) and refuses a listen or connect outside it at once; the kernel's check is what a
//! compromised workload cannot get past.
const std = @import("std");

pub const max_listen = 32;
pub const max_connect = 32;

pub const Rule = struct {
    addr: u32,
    prefix: u6,
    port_lo: u16,
    port_hi: u16,

    pub fn matches(self: Rule, addr: u32, port: ?u16) bool {
        const mask: u32 = if (self.prefix == 0) 0 else ~@as(u32, 0) << @intCast(32 - @as(u7, self.prefix));
        if (addr & mask != self.addr & mask) return false;
        const p = port orelse return true; // ICMP: the address alone
        return p >= self.port_lo and p <= self.port_hi;
    }
};

pub const Policy = struct {
    /// null: DHCP.
    address: ?u32 = null,
    prefix: u6 = 24,
    gateway: ?u32 = null,
    dns: ?u32 = null,
    listen: [max_listen]u16 = undefined,
    listen_count: usize = 0,
    connect: [max_connect]Rule = undefined,
    connect_count: usize = 0,

    pub fn listens(self: *const Policy, port: u16) bool {
        for (self.listen[0..self.listen_count]) |p| if (p == port) return true;
        return false;
    }

    pub fn mayConnect(self: *const Policy, addr: u32, port: ?u16) bool {
        for (self.connect[0..self.connect_count]) |r| if (r.matches(addr, port)) return true;
        return false;
    }
};

pub const Error = error{ BadNetPolicy, UnknownNetKey };

pub fn parseAddr(text: []const u8) Error!u32 {
    var it = std.mem.splitScalar(u8, text, '.');
    var addr: u32 = 0;
    var parts: usize = 0;
    while (it.next()) |part| : (parts += 1) {
        if (parts == 4 or part.len == 0 or part.len > 3) return error.BadNetPolicy;
        for (part) |c| if (c < '0' or c > '9') return error.BadNetPolicy;
        const v = std.fmt.parseInt(u8, part, 10) catch return error.BadNetPolicy;
        addr = (addr << 8) | v;
    }
    if (parts != 4) return error.BadNetPolicy;
    return addr;
}

fn parsePort(text: []const u8) Error!u16 {
    if (text.len == 0 or text.len > 5) return error.BadNetPolicy;
    for (text) |c| if (c < '0' or c > '9') return error.BadNetPolicy;
    const p = std.fmt.parseInt(u16, text, 10) catch return error.BadNetPolicy;
    if (p == 0) return error.BadNetPolicy;
    return p;
}

fn parseCidr(text: []const u8, addr: *u32, prefix: *u6) Error!void {
    if (std.mem.indexOfScalar(u8, text, '/')) |slash| {
        addr.* = try parseAddr(text[0..slash]);
        const bits_text = text[slash + 1 ..];
        if (bits_text.len == 0 or bits_text.len > 2) return error.BadNetPolicy;
        for (bits_text) |c| if (c < '0' or c > '9') return error.BadNetPolicy;
        const bits = std.fmt.parseInt(u8, bits_text, 10) catch return error.BadNetPolicy;
        if (bits > 32) return error.BadNetPolicy;
        prefix.* = @intCast(bits);
    } else {
        addr.* = try parseAddr(text);
        prefix.* = 32;
    }
}

fn parseRule(text: []const u8) Error!Rule {
    const colon = std.mem.lastIndexOfScalar(u8, text, ':') orelse return error.BadNetPolicy;
    var rule = Rule{ .addr = 0, .prefix = 32, .port_lo = 1, .port_hi = 65535 };
    try parseCidr(text[0..colon], &rule.addr, &rule.prefix);
    const ports = text[colon + 1 ..];
    if (std.mem.eql(u8, ports, "*")) return rule;
    if (std.mem.indexOfScalar(u8, ports, '-')) |dash| {
        rule.port_lo = try parsePort(ports[0..dash]);
        rule.port_hi = try parsePort(ports[dash + 1 ..]);
        if (rule.port_lo > rule.port_hi) return error.BadNetPolicy;
    } else {
        rule.port_lo = try parsePort(ports);
        rule.port_hi = rule.port_lo;
    }
    return rule;
}

/// Sets one key (`address`, `gateway`, `dns`, `listen`, `connect`: the part after `net.`).
pub fn set(p: *Policy, key: []const u8, value_raw: []const u8) Error!void {
    const value = std.mem.trim(u8, value_raw, " \t\r");
    if (std.mem.eql(u8, key, "address")) {
        if (std.mem.eql(u8, value, "dhcp")) {
            p.address = null;
            return;
        }
        var addr: u32 = 0;
        var prefix: u6 = 24;
        try parseCidr(value, &addr, &prefix);
        if (std.mem.indexOfScalar(u8, value, '/') == null) prefix = 24;
        if (prefix == 0 or prefix > 30 or addr == 0) return error.BadNetPolicy;
        p.address = addr;
        p.prefix = prefix;
    } else if (std.mem.eql(u8, key, "gateway")) {
        p.gateway = try parseAddr(value);
    } else if (std.mem.eql(u8, key, "dns")) {
        p.dns = try parseAddr(value);
    } else if (std.mem.eql(u8, key, "listen")) {
        p.listen_count = 0;
        var it = std.mem.tokenizeScalar(u8, value, ',');
        while (it.next()) |t| {
            if (p.listen_count == max_listen) return error.BadNetPolicy;
            p.listen[p.listen_count] = try parsePort(std.mem.trim(u8, t, " "));
            p.listen_count += 1;
        }
    } else if (std.mem.eql(u8, key, "connect")) {
        p.connect_count = 0;
        var it = std.mem.tokenizeScalar(u8, value, ',');
        while (it.next()) |t| {
            if (p.connect_count == max_connect) return error.BadNetPolicy;
            p.connect[p.connect_count] = try parseRule(std.mem.trim(u8, t, " "));
            p.connect_count += 1;
        }
    } else return error.UnknownNetKey;
}

fn writeAddr(w: *std.Io.Writer, addr: u32) std.Io.Writer.Error!void {
    try w.print("{d}.{d}.{d}.{d}", .{ addr >> 24, (addr >> 16) & 0xFF, (addr >> 8) & 0xFF, addr & 0xFF });
}

/// The policy as net_info's `key=value` lines (the ring-3 library parses the same syntax).
pub fn format(p: *const Policy, w: *std.Io.Writer) std.Io.Writer.Error!void {
    if (p.address) |a| {
        try w.writeAll("address=");
        try writeAddr(w, a);
        try w.print("/{d}\n", .{p.prefix});
    } else try w.writeAll("address=dhcp\n");
    if (p.gateway) |g| {
        try w.writeAll("gateway=");
        try writeAddr(w, g);
        try w.writeAll("\n");
    }
    if (p.dns) |d| {
        try w.writeAll("dns=");
        try writeAddr(w, d);
        try w.writeAll("\n");
    }
    try w.writeAll("listen=");
    for (p.listen[0..p.listen_count], 0..) |port, i| try w.print("{s}{d}", .{ if (i == 0) "" else ",", port });
    try w.writeAll("\nconnect=");
    for (p.connect[0..p.connect_count], 0..) |r, i| {
        if (i > 0) try w.writeAll(",");
        try writeAddr(w, r.addr);
        try w.print("/{d}:", .{r.prefix});
        if (r.port_lo == 1 and r.port_hi == 65535) try w.writeAll("*") else if (r.port_lo == r.port_hi) try w.print("{d}", .{r.port_lo}) else try w.print("{d}-{d}", .{ r.port_lo, r.port_hi });
    }
    try w.writeAll("\n");
}

// ---- frames ------------------------------------------------------------------------------------

pub const Direction = enum { out, in };

const ethertype_ipv4: u16 = 0x0800;
const ethertype_arp: u16 = 0x0806;
const proto_icmp: u8 = 1;
const proto_tcp: u8 = 6;
const proto_udp: u8 = 17;

fn be16(b: []const u8, at: usize) u16 {
    return std.mem.readInt(u16, b[at..][0..2], .big);
}
fn be32(b: []const u8, at: usize) u32 {
    return std.mem.readInt(u32, b[at..][0..4], .big);
}

/// Whether the frame may pass in `dir` (out: the workload sends it; in: it arrives for the
/// workload). Only headers are read, every offset checked against the frame's length; anything the
/// check does not understand is refused.
pub fn allows(p: *const Policy, dir: Direction, frame: []const u8) bool {
    if (frame.len < 14) return false;
    const ethertype = be16(frame, 12);
    if (ethertype == ethertype_arp) return frame.len >= 14 + 28;
    if (ethertype != ethertype_ipv4) return false;
    const ip = frame[14..];
    if (ip.len < 20 or ip[0] >> 4 != 4) return false;
    const ihl: usize = @as(usize, ip[0] & 0x0F) * 4;
    const total: usize = be16(ip, 2);
    if (ihl < 20 or total < ihl or total > ip.len) return false;
    if (be16(ip, 6) & 0x3FFF != 0) return false; // fragments (MF set or an offset): never needed here
    const proto = ip[9];
    const src = be32(ip, 12);
    const dst = be32(ip, 16);
    const l4 = ip[ihl..total];
    // Out: the workload's own address, when it is fixed (with DHCP the kernel does not know it).
    if (dir == .out) if (p.address) |own| if (src != own and !(proto == proto_udp and src == 0)) return false;
    const peer = if (dir == .out) dst else src;
    switch (proto) {
        proto_icmp => {
            if (l4.len < 8) return false;
            const kind = l4[0];
            return switch (kind) {
                0 => dir == .out or p.mayConnect(peer, null), // echo reply: ours always; theirs from a destination
                8 => dir == .in or p.mayConnect(peer, null), // echo request: answered always; sent to a destination
                3, 11 => true, // unreachable, time exceeded: how a refused connection is learnt
                else => false,
            };
        },
        proto_tcp, proto_udp => {
            if (l4.len < (if (proto == proto_tcp) @as(usize, 20) else 8)) return false;
            const sport = be16(l4, 0);
            const dport = be16(l4, 2);
            const own_port = if (dir == .out) sport else dport;
            const peer_port = if (dir == .out) dport else sport;
            if (proto == proto_udp and own_port == 68 and peer_port == 67) return true; // DHCP
            if (p.dns) |dns| if (peer == dns and peer_port == 53) return true;
            if (p.listens(own_port)) return true;
            return p.mayConnect(peer, peer_port);
        },
        else => return false,
    }
}

/// Frames moved and refused, for the run record.
pub const Counters = struct {
    tx: u64 = 0,
    rx: u64 = 0,
    tx_dropped: u64 = 0,
    rx_dropped: u64 = 0,
};

// ---- tests -------------------------------------------------------------------------------------

const testing = std.testing;

fn policyFrom(lines: []const [2][]const u8) !Policy {
    var p = Policy{};
    for (lines) |kv| try set(&p, kv[0], kv[1]);
    return p;
}

test "policy keys parse, and bad values are refused" {
    const p = try policyFrom(&.{ .{ "address", "10.0.2.15/24" }, .{ "gateway", "10.0.2.2" }, .{ "dns", "10.0.2.3" }, .{ "listen", "80, 8080" }, .{ "connect", "10.0.2.2/32:80,1.2.3.0/24:*,9.9.9.9:1000-2000" } });
    try testing.expectEqual(@as(?u32, 0x0A00020F), p.address);
    try testing.expect(p.listens(8080) and !p.listens(81));
    try testing.expect(p.mayConnect(0x0A000202, 80) and !p.mayConnect(0x0A000202, 81));
    try testing.expect(p.mayConnect(0x01020305, 1) and !p.mayConnect(0x01020405, 1));
    try testing.expect(p.mayConnect(0x09090909, 1500) and !p.mayConnect(0x09090909, 2001));
    var buf: [512]u8 = undefined;
    var w = std.Io.Writer.fixed(&buf);
    try format(&p, &w);
    try testing.expectEqualStrings("address=10.0.2.15/24\ngateway=10.0.2.2\ndns=10.0.2.3\nlisten=80,8080\nconnect=10.0.2.2/32:80,1.2.3.0/24:*,9.9.9.9/32:1000-2000\n", w.buffered());
    var q = Policy{};
    for ([_][2][]const u8{ .{ "address", "10.0.2" }, .{ "address", "256.0.0.1" }, .{ "address", "1.2.3.4/33" }, .{ "address", "0.0.0.0" }, .{ "listen", "0" }, .{ "listen", "65536" }, .{ "listen", "8x" }, .{ "connect", "1.2.3.4" }, .{ "connect", "1.2.3.4:9-8" }, .{ "connect", "1.2.3.4/:80" }, .{ "connect", "1.2.3.4:" }, .{ "gateway", "" }, .{ "dns", "1.2.3.4.5" } }) |kv| {
        try testing.expectError(error.BadNetPolicy, set(&q, kv[0], kv[1]));
    }
    try testing.expectError(error.UnknownNetKey, set(&q, "mac", "x"));
}

fn makeFrame(buf: []u8, proto: u8, src: u32, dst: u32, sport: u16, dport: u16) []u8 {
    @memset(buf, 0);
    std.mem.writeInt(u16, buf[12..14], ethertype_ipv4, .big);
    const ip = buf[14..];
    ip[0] = 0x45;
    const l4_len: usize = if (proto == proto_tcp) 20 else 8;
    std.mem.writeInt(u16, ip[2..4], @intCast(20 + l4_len), .big);
    ip[9] = proto;
    std.mem.writeInt(u32, ip[12..16], src, .big);
    std.mem.writeInt(u32, ip[16..20], dst, .big);
    std.mem.writeInt(u16, ip[20..22], sport, .big);
    std.mem.writeInt(u16, ip[22..24], dport, .big);
    if (proto == proto_icmp) ip[20] = @intCast(sport);
    return buf[0 .. 14 + 20 + l4_len];
}

test "frames pass only within the policy, in both directions" {
    const p = try policyFrom(&.{ .{ "address", "10.0.2.15/24" }, .{ "dns", "10.0.2.3" }, .{ "listen", "8080" }, .{ "connect", "10.0.2.2/32:80" } });
    const me: u32 = 0x0A00020F;
    var b: [128]u8 = undefined;
    try testing.expect(allows(&p, .in, makeFrame(&b, proto_tcp, 0x01020304, me, 5555, 8080))); // to a listen port
    try testing.expect(allows(&p, .out, makeFrame(&b, proto_tcp, me, 0x01020304, 8080, 5555))); // its answer
    try testing.expect(!allows(&p, .in, makeFrame(&b, proto_tcp, 0x01020304, me, 5555, 22)));
    try testing.expect(allows(&p, .out, makeFrame(&b, proto_tcp, me, 0x0A000202, 50000, 80))); // a destination
    try testing.expect(allows(&p, .in, makeFrame(&b, proto_tcp, 0x0A000202, me, 80, 50000)));
    try testing.expect(!allows(&p, .out, makeFrame(&b, proto_tcp, me, 0x0A000202, 50000, 81)));
    try testing.expect(!allows(&p, .out, makeFrame(&b, proto_tcp, me, 0x01020304, 50000, 80)));
    try testing.expect(!allows(&p, .out, makeFrame(&b, proto_tcp, 0x0A000210, 0x0A000202, 50000, 80))); // spoofed source
    try testing.expect(allows(&p, .out, makeFrame(&b, proto_udp, me, 0x0A000203, 40000, 53))); // DNS
    try testing.expect(!allows(&p, .out, makeFrame(&b, proto_udp, me, 0x08080808, 40000, 53)));
    try testing.expect(allows(&p, .out, makeFrame(&b, proto_udp, 0, 0xFFFFFFFF, 68, 67))); // DHCP
    try testing.expect(allows(&p, .out, makeFrame(&b, proto_icmp, me, 0x01020304, 0, 0))); // echo reply
    try testing.expect(!allows(&p, .out, makeFrame(&b, proto_icmp, me, 0x01020304, 8, 0))); // echo request elsewhere
    try testing.expect(allows(&p, .out, makeFrame(&b, proto_icmp, me, 0x0A000202, 8, 0)));
    try testing.expect(!allows(&p, .out, makeFrame(&b, 47, me, 0x0A000202, 0, 0))); // GRE
    // ARP always; other ethertypes never.
    @memset(&b, 0);
    std.mem.writeInt(u16, b[12..14], ethertype_arp, .big);
    try testing.expect(allows(&p, .out, b[0..42]) and !allows(&p, .out, b[0..41]));
    std.mem.writeInt(u16, b[12..14], 0x86DD, .big);
    try testing.expect(!allows(&p, .in, b[0..60]));
}

test "malformed frames are refused and never read out of bounds" {
    const p = try policyFrom(&.{ .{ "listen", "8080" }, .{ "connect", "0.0.0.0/0:*" } });
    var b: [128]u8 = undefined;
    const good = makeFrame(&b, proto_tcp, 1, 2, 8080, 9);
    try testing.expect(allows(&p, .out, good));
    for (0..good.len) |cut| try testing.expect(!allows(&p, .out, good[0..cut])); // every truncation
    b[14] = 0x4F; // IHL 60 bytes: past the total length
    try testing.expect(!allows(&p, .out, good));
    b[14] = 0x45;
    std.mem.writeInt(u16, b[16..18], 0xFFFF, .big); // total length past the frame
    try testing.expect(!allows(&p, .out, good));
    std.mem.writeInt(u16, b[16..18], 40, .big);
    std.mem.writeInt(u16, b[20..22], 0x2000, .big); // more fragments
    try testing.expect(!allows(&p, .out, good));
    var prng = std.Random.DefaultPrng.init(0x6e6574);
    const rnd = prng.random();
    var r: [1514]u8 = undefined;
    for (0..50_000) |_| {
        const len = rnd.uintAtMost(usize, r.len);
        rnd.bytes(r[0..len]);
        if (len > 14 and rnd.boolean()) {
            std.mem.writeInt(u16, r[12..14], ethertype_ipv4, .big);
            r[14] = 0x40 | rnd.uintAtMost(u8, 15);
        }
        _ = allows(&p, if (rnd.boolean()) .in else .out, r[0..len]);
    }
}
