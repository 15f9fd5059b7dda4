//! The frame device from ring 3 (tests/boot/net.test.ts): refused without CAP_NET, hostile
//! arguments refused, an ARP exchange with QEMU's user-network gateway (10.0.2.2), frames outside
//! the policy dropped and counted by the kernel, and a batch of garbage that changes nothing.
//! Expects zigu.caps=log,net, zigu.net.address=10.0.2.15/24 and a virtio-net device on QEMU's
//! user network. Prints one line per failure and a summary; exits 0 only when every check passed.
const std = @import("std");
const zigu = @import("zigu");
const abi = zigu.abi;
const netdev = zigu.netdev;

var passed: u32 = 0;
var failed: u32 = 0;

fn expect(comptime what: []const u8, ok: bool) void {
    if (ok) passed += 1 else {
        failed += 1;
        zigu.print("net: FAIL " ++ what, .{});
    }
}

fn isErr(r: anyerror!usize, want: anyerror) bool {
    _ = r catch |e| return e == want;
    return false;
}

const me = [4]u8{ 10, 0, 2, 15 };
const gateway = [4]u8{ 10, 0, 2, 2 };

var frames: [abi.max_net_batch][2048]u8 align(16) = undefined;
var lens: [abi.max_net_batch]u64 = undefined;

fn arpRequest(buf: []u8, mac: [6]u8) []u8 {
    @memset(buf[0..6], 0xFF);
    @memcpy(buf[6..12], &mac);
    buf[12] = 0x08;
    buf[13] = 0x06;
    const arp = buf[14..];
    @memcpy(arp[0..8], &[_]u8{ 0, 1, 8, 0, 6, 4, 0, 1 });
    @memcpy(arp[8..14], &mac);
    @memcpy(arp[14..18], &me);
    @memset(arp[18..24], 0);
    @memcpy(arp[24..28], &gateway);
    return buf[0..42];
}

fn tcpSyn(buf: []u8, mac: [6]u8, dst: [4]u8, dport: u16) []u8 {
    @memset(buf[0..54], 0);
    @memset(buf[0..6], 0xFF);
    @memcpy(buf[6..12], &mac);
    buf[12] = 0x08;
    const ip = buf[14..];
    ip[0] = 0x45;
    std.mem.writeInt(u16, ip[2..4], 40, .big);
    ip[8] = 64;
    ip[9] = 6;
    @memcpy(ip[12..16], &me);
    @memcpy(ip[16..20], &dst);
    std.mem.writeInt(u16, ip[20..22], 40000, .big);
    std.mem.writeInt(u16, ip[22..24], dport, .big);
    ip[32] = 0x50;
    ip[33] = 0x02; // SYN
    return buf[0..54];
}

fn parseMac(text: []const u8) [6]u8 {
    var mac: [6]u8 = undefined;
    const at = std.mem.indexOf(u8, text, "mac=") orelse return mac;
    var it = std.mem.splitScalar(u8, text[at + 4 ..][0..17], ':');
    var i: usize = 0;
    while (it.next()) |part| : (i += 1) mac[i] = std.fmt.parseInt(u8, part, 16) catch 0;
    return mac;
}

pub fn main() u8 {
    zigu.enter(&.{.log}) catch return 90;
    expect("net_open without CAP_NET is refused", if (netdev.open()) |_| false else |e| e == error.Permission);
    zigu.enter(&.{.net}) catch |e| {
        zigu.print("net: cap_enter(net) refused: {s}", .{@errorName(e)});
        return 91;
    };
    const dev = netdev.open() catch |e| {
        zigu.print("net: net_open: {s}", .{@errorName(e)});
        return 92;
    };
    expect("a second net_open is ERR_EXISTS", if (netdev.open()) |_| false else |e| e == error.Exists);
    var info_buf: [abi.max_net_info_bytes]u8 = undefined;
    const info = netdev.info(dev, &info_buf) catch |e| {
        zigu.print("net: net_info: {s}", .{@errorName(e)});
        return 93;
    };
    expect("net_info names the address", std.mem.indexOf(u8, info, "address=10.0.2.15/24\n") != null);
    expect("net_info into a small buffer is ERR_NO_SPACE", if (netdev.info(dev, info_buf[0..8])) |_| false else |e| e == error.NoSpace);
    const mac = parseMac(info);

    // Hostile arguments: each refused whole, none of them sends anything.
    var vec: [abi.max_net_batch + 1]netdev.IoVec = undefined;
    for (&vec, 0..) |*v, i| v.* = .{ .ptr = @intFromPtr(&frames[i % abi.max_net_batch]), .len = 60 };
    expect("33 frames in one batch is ERR_INVALID", isErr(netdev.send(dev, &vec), error.Invalid));
    var short = [_]netdev.IoVec{.{ .ptr = @intFromPtr(&frames[0]), .len = 13 }};
    expect("a 13-byte frame is ERR_INVALID", isErr(netdev.send(dev, &short), error.Invalid));
    short[0].len = 1515;
    expect("a 1515-byte frame is ERR_INVALID", isErr(netdev.send(dev, &short), error.Invalid));
    short[0] = .{ .ptr = 0x1000, .len = 60 };
    expect("a frame at an unmapped address is ERR_BAD_POINTER", isErr(netdev.send(dev, &short), error.BadPointer));
    short[0] = .{ .ptr = zigu.layout.user_info_addr, .len = 1514 };
    // Receive buffers are checked when a frame is about to go there: with none waiting, nothing.
    expect("receiving into the read-only info page with no frame waiting is 0", (netdev.recv(dev, &short, &lens) catch 99) == 0);
    short[0] = .{ .ptr = std.math.maxInt(u64) - 100, .len = 1514 };
    expect("a wrapping range is ERR_BAD_POINTER", isErr(netdev.send(dev, &short), error.BadPointer));
    short[0] = .{ .ptr = @intFromPtr(&frames[0]), .len = 1000 };
    expect("a receive buffer under 1514 bytes is ERR_INVALID", isErr(netdev.recv(dev, &short, &lens), error.Invalid));
    short[0].len = 2048;
    expect("lengths into unmapped memory are ERR_BAD_POINTER", zigu.raw4(.net_recv, dev, @intFromPtr(&short), 1, 0x1000) == @intFromEnum(abi.Error.bad_pointer));
    expect("a forged device handle is ERR_BAD_HANDLE", zigu.raw(.net_send, dev ^ (1 << 30), @intFromPtr(&short), 1) == @intFromEnum(abi.Error.bad_handle));
    expect("a vector table at an unmapped address is ERR_BAD_POINTER", zigu.raw(.net_send, dev, 0x1000, 1) == @intFromEnum(abi.Error.bad_pointer));

    // Outside the policy: taken, never sent, counted (the exit line shows it).
    var out = [_]netdev.IoVec{.{ .ptr = @intFromPtr(&frames[0]), .len = tcpSyn(&frames[0], mac, .{ 1, 2, 3, 4 }, 80).len }};
    expect("a frame outside the policy is taken", (netdev.send(dev, &out) catch 0) == 1);

    // Garbage: random lengths and bytes, a whole batch; the kernel drops it and goes on.
    var prng = std.Random.DefaultPrng.init(0x6761726261);
    const rnd = prng.random();
    var garbage: [abi.max_net_batch]netdev.IoVec = undefined;
    for (&garbage, 0..) |*g, i| {
        const len = rnd.intRangeAtMost(usize, abi.min_frame_bytes, abi.max_frame_bytes);
        rnd.bytes(frames[i][0..len]);
        if (i % 2 == 0) {
            frames[i][12] = 0x08;
            frames[i][13] = 0x00;
        }
        g.* = .{ .ptr = @intFromPtr(&frames[i]), .len = len };
    }
    const taken = netdev.send(dev, &garbage) catch 0;
    expect("a batch of garbage is taken", taken > 0);

    // ARP: who has 10.0.2.2? The answer comes through io_poll and net_recv.
    const req = arpRequest(&frames[0], mac);
    out[0] = .{ .ptr = @intFromPtr(&frames[0]), .len = req.len };
    expect("the ARP request is taken", (netdev.send(dev, &out) catch 0) == 1);
    zigu.register(dev, abi.ev_readable, 7) catch |e| {
        zigu.print("net: io_register: {s}", .{@errorName(e)});
        return 94;
    };
    var bufs: [abi.max_net_batch]netdev.IoVec = undefined;
    for (&bufs, 0..) |*b, i| b.* = .{ .ptr = @intFromPtr(&frames[i]), .len = frames[i].len };
    var answered = false;
    var polls: u32 = 0;
    while (!answered and polls < 20) : (polls += 1) {
        var events: [4]abi.Event = undefined;
        const ev = zigu.poll(&events, 3_000_000_000) catch break;
        if (ev.len == 0) break; // 3 s without a frame
        expect("the device's event carries its user data", ev[0].user_data == 7 and ev[0].events & abi.ev_readable != 0);
        if (polls == 0) {
            const ro = [_]netdev.IoVec{.{ .ptr = zigu.layout.user_info_addr, .len = 1514 }};
            expect("receiving a waiting frame into the read-only info page is ERR_BAD_POINTER", isErr(netdev.recv(dev, &ro, &lens), error.BadPointer));
            const two = [_]netdev.IoVec{ bufs[0], .{ .ptr = 0x1000, .len = 1514 } };
            expect("a bad second buffer: the first frame is received, the rest waits", if (netdev.recv(dev, &two, &lens)) |got| got == 1 or got == 0 else |_| false);
            if (lens[0] >= 42 and frames[0][12] == 0x08 and frames[0][13] == 0x06 and frames[0][21] == 2) {
                zigu.print("net: arp: 10.0.2.2 is at {x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}", .{ frames[0][22], frames[0][23], frames[0][24], frames[0][25], frames[0][26], frames[0][27] });
                answered = true;
                continue;
            }
        }
        const n = netdev.recv(dev, &bufs, &lens) catch break;
        for (0..n) |i| {
            const f = frames[i][0..@intCast(lens[i])];
            if (f.len >= 42 and f[12] == 0x08 and f[13] == 0x06 and f[21] == 2 and std.mem.eql(u8, f[28..32], &gateway)) {
                zigu.print("net: arp: 10.0.2.2 is at {x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}:{x:0>2}", .{ f[22], f[23], f[24], f[25], f[26], f[27] });
                answered = true;
            }
        }
    }
    expect("the gateway answers ARP", answered);
    zigu.close(dev) catch {};
    expect("the closed device's handle is refused", isErr(netdev.send(dev, &out), error.BadHandle));
    const again = netdev.open();
    expect("the device opens again after close", if (again) |_| true else |_| false);
    zigu.print("net: {d} passed, {d} failed", .{ passed, failed });
    return if (failed == 0) 0 else 1;
}
