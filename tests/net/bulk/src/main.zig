//! Sends 8 MiB of a deterministic pattern to the echo server at 10.0.0.1:7 while reading the echo,
//! then checks every byte that came back against what was sent (tests/net/loss.test.ts puts a
//! lossy, reordering, garbage-injecting link between the two VMs). One io_poll loop.
const std = @import("std");
const zigu = @import("zigu");
const net = zigu.net;
const abi = zigu.abi;

const total: usize = 8 << 20;

fn patternByte(i: usize) u8 {
    return @truncate((i *% 2654435761) >> 13);
}

var out_buf: [16384]u8 = undefined;
var in_buf: [65536]u8 = undefined;

pub fn main() u8 {
    zigu.enter(&.{ .log, .time, .net }) catch return 3;
    const t0 = zigu.nowNs();
    const sock = net.connect(0x0A000001, 7) catch |e| {
        zigu.print("bulk: connect: {s}", .{@errorName(e)});
        return 1;
    };
    net.register(sock, abi.ev_readable | abi.ev_writable, 1) catch return 1;
    var sent: usize = 0;
    var received: usize = 0;
    var mismatches: usize = 0;
    var all_sent = false;
    var events: [8]zigu.Event = undefined;
    while (received < total) {
        const ready = net.poll(&events, 30_000_000_000) catch |e| {
            zigu.print("bulk: io_poll: {s}", .{@errorName(e)});
            return 1;
        };
        if (ready.len == 0) {
            zigu.print("bulk: stalled for 30 s at {d} sent, {d} received", .{ sent, received });
            return 1;
        }
        while (sent < total) {
            const n = @min(out_buf.len, total - sent);
            for (out_buf[0..n], 0..) |*b, i| b.* = patternByte(sent + i);
            const took = net.send(sock, out_buf[0..n]) catch |e| switch (e) {
                error.WouldBlock => break,
                else => {
                    zigu.print("bulk: send: {s} at {d}", .{ @errorName(e), sent });
                    return 1;
                },
            };
            sent += took;
            if (took < n) break;
        }
        if (sent == total and !all_sent) {
            // Only readable from now on (a socket that stays writable would keep io_poll busy).
            all_sent = true;
            net.unregister(sock) catch {};
            net.register(sock, abi.ev_readable, 1) catch return 1;
        }
        while (true) {
            const n = net.recv(sock, &in_buf) catch |e| switch (e) {
                error.WouldBlock => break,
                else => {
                    zigu.print("bulk: recv: {s} at {d}", .{ @errorName(e), received });
                    return 1;
                },
            };
            if (n == 0) {
                zigu.print("bulk: the server closed at {d} received", .{received});
                return 1;
            }
            for (in_buf[0..n], 0..) |b, i| {
                if (b != patternByte(received + i)) mismatches += 1;
            }
            received += n;
        }
    }
    const ms = (zigu.nowNs() - t0) / 1_000_000;
    zigu.print("bulk: {d} bytes echoed in {d} ms, {d} bytes differ", .{ received, ms, mismatches });
    net.unregister(sock) catch {};
    net.close(sock) catch {};
    // Stop the server: the echo example ends on a "shutdown\n" of its own.
    if (net.connect(0x0A000001, 7)) |stop| {
        net.register(stop, abi.ev_writable, 2) catch {};
        const deadline = zigu.nowNs() + 20_000_000_000;
        connected: while (zigu.nowNs() < deadline) {
            const ev = net.poll(&events, 1_000_000_000) catch break;
            for (ev) |e| if (e.user_data == 2 and e.events & abi.ev_writable != 0) break :connected;
        }
        _ = net.send(stop, "shutdown\n") catch |e| zigu.print("bulk: sending shutdown: {s}", .{@errorName(e)});
        net.unregister(stop) catch {};
        net.register(stop, abi.ev_readable, 2) catch {};
        // The frames leave (and are sent again if lost) only while the loop polls.
        const linger = zigu.nowNs() + 3_000_000_000;
        while (zigu.nowNs() < linger) _ = net.poll(&events, 500_000_000) catch break;
    } else |_| {}
    return if (mismatches == 0) 0 else 1;
}
