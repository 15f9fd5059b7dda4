//! A TCP echo server: every connection gets its bytes back, many connections at once, all driven
//! by one io_poll loop (the network library folds its sockets into the kernel's io_poll). A client
//! that sends exactly "shutdown\n" ends the server with status 0.
const std = @import("std");
const zigu = @import("zigu");
const net = zigu.net;
const abi = zigu.abi;

const port: u16 = 7;
const max_conns = 200;

const Conn = struct {
    sock: zigu.Handle = 0,
    /// Bytes received and not yet sent back (the peer's window was full).
    pending: [16384]u8 = undefined,
    pending_len: usize = 0,
    writable_wait: bool = false,
};

var conns: [max_conns]Conn = @splat(.{});
var buf: [16384]u8 = undefined;
var served: u64 = 0;

fn closeConn(i: usize) void {
    net.close(conns[i].sock) catch {};
    conns[i] = .{};
}

/// Sends what is pending; true when all of it went.
fn flush(c: *Conn) bool {
    while (c.pending_len > 0) {
        const n = net.send(c.sock, c.pending[0..c.pending_len]) catch |e| switch (e) {
            error.WouldBlock => return false,
            else => return true, // the connection is gone: recv will say so
        };
        std.mem.copyForwards(u8, c.pending[0 .. c.pending_len - n], c.pending[n..c.pending_len]);
        c.pending_len -= n;
    }
    return true;
}

fn interest(i: usize, writable: bool) void {
    const c = &conns[i];
    if (c.writable_wait == writable) return;
    net.unregister(c.sock) catch {};
    net.register(c.sock, if (writable) abi.ev_writable else abi.ev_readable, i + 1) catch {};
    c.writable_wait = writable;
}

/// Returns true when the client asked the server to stop.
fn serve(i: usize) bool {
    const c = &conns[i];
    if (!flush(c)) return false;
    interest(i, false);
    while (true) {
        const n = net.recv(c.sock, &buf) catch |e| switch (e) {
            error.WouldBlock => return false,
            else => {
                closeConn(i);
                return false;
            },
        };
        if (n == 0) { // the client is done
            closeConn(i);
            served += 1;
            return false;
        }
        if (std.mem.eql(u8, buf[0..n], "shutdown\n")) return true;
        @memcpy(c.pending[0..n], buf[0..n]);
        c.pending_len = n;
        if (!flush(c)) {
            interest(i, true);
            return false;
        }
    }
}

pub fn main() u8 {
    zigu.enter(&.{ .log, .net }) catch |e| {
        zigu.print("echo: the log and net capabilities are needed ({s}): capabilities.allow in ukernel.toml", .{@errorName(e)});
        return 3;
    };
    const listener = net.listen(port, 64) catch |e| {
        zigu.print("echo: listen on port {d}: {s}", .{ port, @errorName(e) });
        return 1;
    };
    net.register(listener, abi.ev_readable, 0) catch return 1;
    zigu.print("echo: listening on port {d}", .{port});
    var events: [64]zigu.Event = undefined;
    while (true) {
        const ready = net.poll(&events, abi.timeout_infinite) catch |e| {
            zigu.print("echo: io_poll: {s}", .{@errorName(e)});
            return 1;
        };
        for (ready) |ev| {
            if (ev.user_data == 0) {
                while (true) {
                    const sock = net.accept(listener) catch break;
                    const slot = for (&conns, 0..) |*c, i| {
                        if (c.sock == 0) break i;
                    } else {
                        net.close(sock) catch {};
                        continue;
                    };
                    conns[slot] = .{ .sock = sock };
                    net.register(sock, abi.ev_readable, slot + 1) catch closeConn(slot);
                }
                continue;
            }
            const i: usize = @intCast(ev.user_data - 1);
            if (i >= max_conns or conns[i].sock == 0) continue;
            if (serve(i)) {
                zigu.print("echo: shutdown after {d} connections", .{served});
                return 0;
            }
        }
    }
}
