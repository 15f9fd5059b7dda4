//! The socket calls (24–34, abi/spec.ts `home: "library"`) on the host: what the guest's network
//! library (runtime/net, smoltcp over the frame device) does in the microVM, done here with the
//! host's own non-blocking sockets, under the same checks: CAP_NET active (else ERR_PERMISSION),
//! then argument ranges, then pointers, then handles, then the network policy (ERR_NOT_ALLOWED).
//!
//! The policy is kernel/core/netpolicy.zig's, read from the environment (the adapter sets it from
//! ukernel.toml's [network]) in the syntax of its `net.listen` and `net.connect` keys:
//!   UKERNEL_NET_LISTEN=80,8080                      ports tcp_listen and udp_bind may take
//!   UKERNEL_NET_CONNECT=127.0.0.1/32:8000,...        destinations of tcp_connect and udp_send_to
//!   UKERNEL_NET_BIND=127.0.0.1                       the host address listeners bind (default)
//! Connect addresses are the host's own: 10.0.2.2 means nothing here.
//!
//! Handles have the guest library's format (slot in bits 0..15, type tag 16 listener, 17 TCP,
//! 18 UDP, 19 DNS query in bits 16..23, generation in bits 24..54): io_register, io_unregister and handle_close
//! on such a value come here, and io_poll merges the sockets' readiness (poll(2), level-triggered)
//! with the core's timers, tasks and hang-ups, sleeping in ppoll on the registered sockets until
//! the core's next deadline.
const std = @import("std");
const core = @import("core");
const linux = std.os.linux;
const n = core.numbers;
const netpolicy = core.calls.netpolicy;
const calls = core.calls;
pub const LibraryCall = @import("exports.zig").LibraryCall;

const Timespec = extern struct { sec: i64, nsec: i64 };
const SockaddrIn = extern struct { family: u16, port_be: u16, addr_be: u32, zero: [8]u8 = @splat(0) };
extern "c" fn socket(domain: c_int, kind: c_int, protocol: c_int) c_int;
extern "c" fn bind(fd: c_int, addr: *const SockaddrIn, len: u32) c_int;
extern "c" fn listen(fd: c_int, backlog: c_int) c_int;
extern "c" fn accept4(fd: c_int, addr: ?*SockaddrIn, len: ?*u32, flags: c_int) c_int;
extern "c" fn connect(fd: c_int, addr: *const SockaddrIn, len: u32) c_int;
extern "c" fn send(fd: c_int, buf: *const anyopaque, len: usize, flags: c_int) isize;
extern "c" fn recv(fd: c_int, buf: *anyopaque, len: usize, flags: c_int) isize;
extern "c" fn sendto(fd: c_int, buf: *const anyopaque, len: usize, flags: c_int, to: *const SockaddrIn, to_len: u32) isize;
extern "c" fn recvfrom(fd: c_int, buf: *anyopaque, len: usize, flags: c_int, from: *SockaddrIn, from_len: *u32) isize;
extern "c" fn shutdown(fd: c_int, how: c_int) c_int;
extern "c" fn close(fd: c_int) c_int;
extern "c" fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const anyopaque, len: u32) c_int;
extern "c" fn getsockname(fd: c_int, addr: *SockaddrIn, len: *u32) c_int;
extern "c" fn getsockopt(fd: c_int, level: c_int, name: c_int, value: *anyopaque, len: *u32) c_int;
extern "c" fn ppoll(fds: [*]linux.pollfd, count: c_ulong, timeout: ?*const Timespec, sigmask: ?*const anyopaque) c_int;
extern "c" fn __errno_location() *c_int;
extern "c" fn getenv(name: [*:0]const u8) ?[*:0]const u8;
/// glibc's `struct addrinfo` (x86_64 Linux).
const AddrInfo = extern struct {
    flags: c_int = 0,
    family: c_int = 0,
    socktype: c_int = 0,
    protocol: c_int = 0,
    addrlen: u32 = 0,
    addr: ?*const SockaddrIn = null,
    canonname: ?[*:0]const u8 = null,
    next: ?*const AddrInfo = null,
};
extern "c" fn getaddrinfo(node: [*:0]const u8, service: ?[*:0]const u8, hints: *const AddrInfo, res: *?*const AddrInfo) c_int;
extern "c" fn freeaddrinfo(res: *const AddrInfo) void;

/// A host name as dns_query takes it (the guest library's rule, runtime/net valid_host_name):
/// dot-separated labels of 1..63 letters, digits, '-' and '_', none starting or ending with '-',
/// at most MAX_DNS_NAME_BYTES in all, no trailing dot.
pub fn validHostName(name: []const u8) bool {
    if (name.len == 0 or name.len > n.max_dns_name_bytes) return false;
    var labels = std.mem.splitScalar(u8, name, '.');
    while (labels.next()) |l| {
        if (l.len == 0 or l.len > 63 or l[0] == '-' or l[l.len - 1] == '-') return false;
        for (l) |c| if (!std.ascii.isAlphanumeric(c) and c != '-' and c != '_') return false;
    }
    return true;
}

pub const Kind = enum(u8) { listener = 16, tcp = 17, udp = 18, dns = 19 };

/// Sockets open at once (the guest library's limit too: runtime/net MAX_HANDLES).
pub const max_sockets: usize = n.max_handles;
/// Connections a listener queues (the guest keeps 1–64 sockets listening).
pub const max_backlog: u32 = 64;
/// Largest datagram udp_send_to takes: one unfragmented IPv4 packet on a 1500-byte MTU, as in the guest.
pub const max_datagram_bytes: u64 = 1472;
/// One recv or send moves at most this much (the rest is the next call's).
const max_io_bytes: u64 = 1 << 30;

const slot_bits = 16;
const tag_shift = 16;
const generation_shift = 24;
/// A slot whose generation reaches this is retired rather than wrapped (as the core's and the guest's).
const max_generation: u32 = (1 << 31) - 1;

const Slot = struct {
    generation: u32 = 0,
    /// Null: free, or closed while registered (its hang-up not yet reported).
    kind: ?Kind = null,
    fd: c_int = -1,
    /// UDP: its own port; a port in the listen list receives from anyone, another only from
    /// the connect list's destinations (the frames the guest's kernel lets in).
    port: u16 = 0,
    registered: bool = false,
    hangup_pending: bool = false,
    retired: bool = false,
    interest: u32 = 0,
    user_data: u64 = 0,
    /// A DNS query's answer (no fd): its IPv4 addresses; none when the name did not resolve.
    addrs: [n.max_dns_addrs]u32 = @splat(0),
    addr_count: u8 = 0,
};

/// The host's sockets behind the ABI, for the platform `Platform` (host/lib.zig's Host) and the
/// core's calls `Calls` (kernel/core/calls.zig over it).
pub fn Sockets(comptime Calls: type, comptime Platform: type) type {
    return struct {
        var slots: [max_sockets]Slot = @splat(.{});
        /// Slots registered with io_poll, or closed while registered: what io_poll looks at.
        var registered_count: usize = 0;
        var bind_addr: u32 = 0x7F000001;
        /// Where the next readiness scan starts, so that busy sockets do not starve the others.
        var scan_start: usize = 0;
        /// Scratch of io_poll and of the sleep: container-level, as the core's (no big locals).
        var pollfds: [max_sockets]linux.pollfd = undefined;
        var pollfd_slots: [max_sockets]u16 = undefined;

        pub const PolicyError = error{ BadListen, BadConnect, BadBind };

        /// The network policy from the environment, into the core's (`Calls.net_policy`).
        pub fn init() PolicyError!void {
            Calls.net_policy = .{};
            if (getenv("UKERNEL_NET_LISTEN")) |v| netpolicy.set(&Calls.net_policy, "listen", std.mem.span(v)) catch return error.BadListen;
            if (getenv("UKERNEL_NET_CONNECT")) |v| netpolicy.set(&Calls.net_policy, "connect", std.mem.span(v)) catch return error.BadConnect;
            if (getenv("UKERNEL_NET_BIND")) |v| bind_addr = netpolicy.parseAddr(std.mem.trim(u8, std.mem.span(v), " ")) catch return error.BadBind;
        }

        /// Whether a handle value carries one of the library's tags (the rest are the core's).
        pub fn owns(handle: u64) bool {
            const tag: u8 = @truncate(handle >> tag_shift);
            return tag >= @intFromEnum(Kind.listener) and tag <= @intFromEnum(Kind.dns);
        }

        /// Whether io_poll must look at the sockets (else the core's io_poll alone runs).
        pub fn polling() bool {
            return registered_count > 0;
        }

        fn code(e: n.Error) i64 {
            return @intFromEnum(e);
        }

        fn errno() linux.E {
            return @enumFromInt(__errno_location().*);
        }

        // ---- the handle table ------------------------------------------------------------

        fn encode(index: usize, kind: Kind, generation: u32) u64 {
            return @as(u64, index) | (@as(u64, @intFromEnum(kind)) << tag_shift) | (@as(u64, generation) << generation_shift);
        }

        fn lookup(handle: u64, want: ?Kind) error{BadHandle}!*Slot {
            if (handle >> 55 != 0) return error.BadHandle;
            const index: usize = @intCast(handle & ((1 << slot_bits) - 1));
            if (index >= max_sockets) return error.BadHandle;
            const slot = &slots[index];
            const kind = slot.kind orelse return error.BadHandle;
            if (handle != encode(index, kind, slot.generation)) return error.BadHandle;
            if (want) |k| if (k != kind) return error.BadHandle;
            return slot;
        }

        fn freeSlot() ?usize {
            for (&slots, 0..) |*s, i| {
                if (s.kind == null and !s.hangup_pending and !s.retired) return i;
            }
            return null;
        }

        /// A handle for `fd`, which the table owns from now on (closed if there is no room).
        fn insert(kind: Kind, fd: c_int, port: u16) i64 {
            const index = freeSlot() orelse {
                _ = close(fd);
                return code(.no_space);
            };
            const slot = &slots[index];
            std.debug.assert(!slot.registered and slot.generation < max_generation);
            slot.* = .{ .generation = slot.generation + 1, .kind = kind, .fd = fd, .port = port };
            return @intCast(encode(index, kind, slot.generation));
        }

        /// A slot without a socket back in use, or retired for good.
        fn release(slot: *Slot) void {
            slot.* = .{ .generation = slot.generation, .retired = slot.generation == max_generation };
        }

        // ---- the calls ----------------------------------------------------------------------

        /// One socket call: CAP_NET first, as every call that needs a capability.
        pub fn call(which: LibraryCall, a0: u64, a1: u64, a2: u64, a3: u64) i64 {
            Calls.core.check(.net) catch return code(.permission);
            // A u32 argument is the low half of its register (SysV leaves the high half undefined).
            const lo0: u32 = @truncate(a0);
            const lo1: u32 = @truncate(a1);
            return switch (which) {
                .tcp_listen => tcpListen(lo0, lo1),
                .tcp_accept => tcpAccept(a0),
                .tcp_connect => tcpConnect(lo0, lo1),
                .sock_send => sockSend(a0, a1, a2),
                .sock_recv => sockRecv(a0, a1, a2),
                .sock_shutdown => sockShutdown(a0),
                .udp_bind => udpBind(lo0),
                .udp_send_to => udpSendTo(a0, a1, a2, a3),
                .udp_recv_from => udpRecvFrom(a0, a1, a2, a3),
                .dns_query => dnsQuery(a0, a1),
                .dns_result => dnsResult(a0, a1, a2),
            };
        }

        fn sockaddr(addr: u32, port: u16) SockaddrIn {
            return .{ .family = linux.AF.INET, .port_be = std.mem.nativeToBig(u16, port), .addr_be = std.mem.nativeToBig(u32, addr) };
        }

        fn newSocket(kind: c_int) ?c_int {
            const fd = socket(linux.AF.INET, kind | linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC, 0);
            return if (fd < 0) null else fd;
        }

        fn setOption(fd: c_int, level: c_int, name: c_int) void {
            const one: c_int = 1;
            _ = setsockopt(fd, level, name, &one, @sizeOf(c_int));
        }

        /// What a failed socket(), bind() or accept() of the host means in the ABI's terms.
        fn setupError(e: linux.E) i64 {
            return switch (e) {
                .ADDRINUSE => code(.exists),
                .MFILE, .NFILE, .NOBUFS, .NOMEM => code(.no_space),
                // Ports below 1024 without the privilege, or a UKERNEL_NET_BIND that is not the
                // host's: the call exists, this machine cannot do it.
                else => code(.unsupported),
            };
        }

        /// What a failed send or receive of the host means: the connection is gone, or not yet.
        fn ioError(e: linux.E) i64 {
            return switch (e) {
                .AGAIN, .INTR => code(.would_block),
                .NOBUFS, .NOMEM => code(.would_block),
                else => code(.connection), // refused, reset, timed out, broken pipe, not connected
            };
        }

        fn tcpListen(port: u32, backlog: u32) i64 {
            if (port < 1 or port > 65535) return code(.invalid);
            if (!Calls.net_policy.listens(@intCast(port))) return code(.not_allowed);
            if (freeSlot() == null) return code(.no_space);
            const fd = newSocket(linux.SOCK.STREAM) orelse return setupError(errno());
            // A restarted server takes its port back at once (connections in TIME_WAIT), as
            // asyncio's and most servers do; two listeners on one port are still EADDRINUSE.
            setOption(fd, linux.SOL.SOCKET, linux.SO.REUSEADDR);
            const sa = sockaddr(bind_addr, @intCast(port));
            if (bind(fd, &sa, @sizeOf(SockaddrIn)) != 0 or listen(fd, @intCast(std.math.clamp(backlog, 1, max_backlog))) != 0) {
                const e = errno();
                _ = close(fd);
                return setupError(e);
            }
            return insert(.listener, fd, @intCast(port));
        }

        fn tcpAccept(listener: u64) i64 {
            const slot = lookup(listener, .listener) catch return code(.bad_handle);
            // Room first: a connection accepted without a slot would be lost; this way it waits.
            if (freeSlot() == null) return code(.no_space);
            const fd = accept4(slot.fd, null, null, linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC);
            if (fd < 0) return switch (errno()) {
                .AGAIN, .INTR, .CONNABORTED, .PROTO => code(.would_block),
                else => |e| setupError(e),
            };
            setOption(fd, linux.IPPROTO.TCP, linux.TCP.NODELAY);
            return insert(.tcp, fd, slot.port);
        }

        fn tcpConnect(addr: u32, port: u32) i64 {
            if (port < 1 or port > 65535) return code(.invalid);
            // The guest library's: no connection to 0.0.0.0, broadcast or multicast.
            if (addr == 0 or addr == std.math.maxInt(u32) or addr >> 28 == 0xE) return code(.invalid);
            if (!Calls.net_policy.mayConnect(addr, @intCast(port))) return code(.not_allowed);
            if (freeSlot() == null) return code(.no_space);
            const fd = newSocket(linux.SOCK.STREAM) orelse return setupError(errno());
            // Small writes go out at once (asyncio sets the same on its own TCP sockets).
            setOption(fd, linux.IPPROTO.TCP, linux.TCP.NODELAY);
            const sa = sockaddr(addr, @intCast(port));
            // Non-blocking: EINPROGRESS is the usual answer. A connection refused at once still
            // gets its handle, as in the guest: the failure reads as EV_HANGUP and ERR_CONNECTION.
            if (connect(fd, &sa, @sizeOf(SockaddrIn)) != 0) switch (errno()) {
                .INPROGRESS, .INTR, .AGAIN => {},
                .MFILE, .NFILE, .NOBUFS, .NOMEM => |e| {
                    _ = close(fd);
                    return setupError(e);
                },
                else => {},
            };
            return insert(.tcp, fd, 0);
        }

        fn sockSend(sock: u64, buf: u64, len: u64) i64 {
            const in = Calls.userIn(buf, len) catch return code(.bad_pointer);
            const slot = lookup(sock, .tcp) catch return code(.bad_handle);
            if (len == 0) return 0;
            const r = send(slot.fd, @ptrFromInt(in.addr), @intCast(@min(in.len, max_io_bytes)), linux.MSG.DONTWAIT | linux.MSG.NOSIGNAL);
            return if (r < 0) ioError(errno()) else @intCast(r);
        }

        fn sockRecv(sock: u64, buf: u64, len: u64) i64 {
            const out = Calls.userOut(buf, len) catch return code(.bad_pointer);
            const slot = lookup(sock, .tcp) catch return code(.bad_handle);
            if (len == 0) return 0;
            const r = recv(slot.fd, @ptrFromInt(out.addr), @intCast(@min(out.len, max_io_bytes)), linux.MSG.DONTWAIT);
            return if (r < 0) ioError(errno()) else @intCast(r);
        }

        fn sockShutdown(sock: u64) i64 {
            const slot = lookup(sock, .tcp) catch return code(.bad_handle);
            // Not connected (yet, or any more): nothing to close; the guest says 0 too.
            _ = shutdown(slot.fd, linux.SHUT.WR);
            return 0;
        }

        fn udpBind(port: u32) i64 {
            if (port > 65535) return code(.invalid);
            if (port != 0 and !Calls.net_policy.listens(@intCast(port))) return code(.not_allowed);
            if (freeSlot() == null) return code(.no_space);
            const fd = newSocket(linux.SOCK.DGRAM) orelse return setupError(errno());
            // Port 0 sends (to any destination the policy allows, so from any host address);
            // a listening port serves on the bind address, as tcp_listen.
            const sa = sockaddr(if (port == 0) 0 else bind_addr, @intCast(port));
            if (bind(fd, &sa, @sizeOf(SockaddrIn)) != 0) {
                const e = errno();
                _ = close(fd);
                return setupError(e);
            }
            var bound: SockaddrIn = undefined;
            var bound_len: u32 = @sizeOf(SockaddrIn);
            const own = if (getsockname(fd, &bound, &bound_len) == 0) std.mem.bigToNative(u16, bound.port_be) else @as(u16, @intCast(port));
            return insert(.udp, fd, own);
        }

        fn udpSendTo(sock: u64, buf: u64, len: u64, to: u64) i64 {
            const addr: u32 = @truncate(to >> 16);
            const port: u16 = @truncate(to);
            if (len > max_datagram_bytes or to >> 48 != 0 or port == 0 or addr == 0) return code(.invalid);
            const in = Calls.userIn(buf, len) catch return code(.bad_pointer);
            const slot = lookup(sock, .udp) catch return code(.bad_handle);
            if (!Calls.net_policy.mayConnect(addr, port)) return code(.not_allowed);
            const sa = sockaddr(addr, port);
            const data: *const anyopaque = if (len == 0) @ptrCast(&sa) else @ptrFromInt(in.addr);
            var tries: usize = 0;
            while (tries < 2) : (tries += 1) {
                const r = sendto(slot.fd, data, @intCast(len), linux.MSG.DONTWAIT, &sa, @sizeOf(SockaddrIn));
                if (r >= 0) return @intCast(len);
                switch (errno()) {
                    .AGAIN, .NOBUFS, .NOMEM => return code(.would_block),
                    // An ICMP error about an earlier datagram: UDP on the ABI has no such errors.
                    .CONNREFUSED, .HOSTUNREACH, .NETUNREACH => continue,
                    else => return code(.invalid),
                }
            }
            return @intCast(len);
        }

        fn udpRecvFrom(sock: u64, buf: u64, len: u64, from: u64) i64 {
            const out = Calls.userOut(buf, len) catch return code(.bad_pointer);
            const from_out = Calls.userOut(from, 8) catch return code(.bad_pointer);
            const slot = lookup(sock, .udp) catch return code(.bad_handle);
            const open_port = Calls.net_policy.listens(slot.port);
            var scratch: [1]u8 = undefined;
            const dst: *anyopaque = if (len == 0) @ptrCast(&scratch) else @ptrFromInt(out.addr);
            // Bounded: datagrams from senders the policy does not let in are dropped, as the
            // guest's kernel drops their frames; a flood of them ends in ERR_WOULD_BLOCK.
            for (0..64) |_| {
                var sa: SockaddrIn = undefined;
                var sa_len: u32 = @sizeOf(SockaddrIn);
                const r = recvfrom(slot.fd, dst, @intCast(@min(len, max_io_bytes)), linux.MSG.DONTWAIT, &sa, &sa_len);
                if (r < 0) switch (errno()) {
                    .CONNREFUSED, .HOSTUNREACH, .NETUNREACH => continue, // an ICMP error, consumed
                    else => return code(.would_block),
                };
                const peer = std.mem.bigToNative(u32, sa.addr_be);
                const peer_port = std.mem.bigToNative(u16, sa.port_be);
                if (!open_port and !Calls.net_policy.mayConnect(peer, peer_port)) continue;
                const word: u64 = (@as(u64, peer) << 16) | peer_port;
                Calls.copyOut(from_out, 0, std.mem.asBytes(&word));
                return @intCast(r);
            }
            return code(.would_block);
        }

        /// Resolves at once, with the host's resolver (getaddrinfo: /etc/hosts, then DNS), so the
        /// caller waits for it here; the query handle is readable from the start.
        fn dnsQuery(name_ptr: u64, len: u64) i64 {
            if (len < 1 or len > n.max_dns_name_bytes) return code(.invalid);
            const in = Calls.userIn(name_ptr, len) catch return code(.bad_pointer);
            var name: [n.max_dns_name_bytes + 1]u8 = undefined;
            Calls.copyIn(in, 0, name[0..len]);
            if (!validHostName(name[0..len])) return code(.invalid);
            const index = freeSlot() orelse return code(.no_space);
            var addrs: [n.max_dns_addrs]u32 = @splat(0);
            var count: u8 = 0;
            if (netpolicy.parseAddr(name[0..len])) |literal| {
                addrs[0] = literal;
                count = 1;
            } else |_| {
                name[len] = 0;
                const hints: AddrInfo = .{ .family = linux.AF.INET, .socktype = linux.SOCK.STREAM };
                var res: ?*const AddrInfo = null;
                if (getaddrinfo(@ptrCast(&name), null, &hints, &res) == 0) {
                    var it = res;
                    while (it) |ai| : (it = ai.next) {
                        const sa = ai.addr orelse continue;
                        if (ai.family != linux.AF.INET or count == addrs.len) continue;
                        const a = std.mem.bigToNative(u32, sa.addr_be);
                        if (std.mem.indexOfScalar(u32, addrs[0..count], a) != null) continue;
                        addrs[count] = a;
                        count += 1;
                    }
                    if (res) |r| freeaddrinfo(r);
                }
            }
            const slot = &slots[index];
            slot.* = .{ .generation = slot.generation + 1, .kind = .dns, .fd = -1, .addrs = addrs, .addr_count = count };
            return @intCast(encode(index, .dns, slot.generation));
        }

        fn dnsResult(query: u64, addrs_ptr: u64, max: u64) i64 {
            if (max < 1 or max > n.max_dns_addrs) return code(.invalid);
            const out = Calls.userOut(addrs_ptr, max * 4) catch return code(.bad_pointer);
            const slot = lookup(query, .dns) catch return code(.bad_handle);
            if (slot.addr_count == 0) return code(.not_found);
            const count: usize = @intCast(@min(slot.addr_count, max));
            Calls.copyOut(out, 0, std.mem.sliceAsBytes(slot.addrs[0..count]));
            return @intCast(count);
        }

        // ---- the folded calls: handle_close, io_register, io_unregister, io_poll -----------

        pub fn handleClose(handle: u64) i64 {
            const slot = lookup(handle, null) catch return code(.bad_handle);
            if (slot.fd >= 0) _ = close(slot.fd);
            slot.fd = -1;
            slot.kind = null;
            if (slot.registered) {
                // Kept out of use until io_poll reports its hang-up, as the core keeps its slots.
                slot.hangup_pending = true;
                Calls.core.wakePollers();
            } else release(slot);
            return 0;
        }

        pub fn ioRegister(handle: u64, interest_raw: u64, user_data: u64) i64 {
            const interest: u32 = @truncate(interest_raw);
            const known = n.ev_readable | n.ev_writable;
            if (interest == 0 or interest & ~known != 0) return code(.invalid);
            const slot = lookup(handle, null) catch return code(.bad_handle);
            if (slot.registered) return code(.exists);
            slot.registered = true;
            slot.interest = interest;
            slot.user_data = user_data;
            registered_count += 1;
            return 0;
        }

        pub fn ioUnregister(handle: u64) i64 {
            const slot = lookup(handle, null) catch return code(.bad_handle);
            if (!slot.registered) return code(.invalid);
            slot.registered = false;
            registered_count -= 1;
            return 0;
        }

        /// The pollfd of every registered socket (none for slots awaiting their hang-up).
        fn gatherFds() usize {
            var count: usize = 0;
            for (&slots, 0..) |*s, i| {
                if (!s.registered or s.kind == null or s.kind == .dns) continue;
                var events: i16 = 0;
                if (s.interest & n.ev_readable != 0) events |= linux.POLL.IN;
                if (s.interest & n.ev_writable != 0) events |= linux.POLL.OUT;
                pollfds[count] = .{ .fd = s.fd, .events = events, .revents = 0 };
                pollfd_slots[count] = @intCast(i);
                count += 1;
            }
            return count;
        }

        /// The ABI's events for what poll(2) saw on a socket (before masking with its interest).
        fn readiness(slot: *Slot, revents: i16) u32 {
            var ev: u32 = 0;
            if (revents & linux.POLL.IN != 0) ev |= n.ev_readable;
            if (revents & linux.POLL.OUT != 0) ev |= n.ev_writable;
            if (revents & (linux.POLL.HUP | linux.POLL.ERR | linux.POLL.NVAL) != 0) {
                if (slot.kind == .udp) {
                    // An ICMP error about an earlier datagram: cleared, never an event (else
                    // poll(2) would report it for ever to a socket registered writable only).
                    var err: c_int = 0;
                    var err_len: u32 = @sizeOf(c_int);
                    _ = getsockopt(slot.fd, linux.SOL.SOCKET, linux.SO.ERROR, &err, &err_len);
                } else {
                    // Refused, reset, or both sides closed: readable (the error, or the end) and
                    // hung up, never writable, as the guest's closed socket.
                    ev = n.ev_readable | n.ev_hangup;
                }
            }
            return ev;
        }

        /// Hang-ups of sockets closed while registered, then the registered sockets that are ready
        /// now (level-triggered), at most out.len events. Never waits.
        pub fn collect(out: []n.Event) usize {
            var count: usize = 0;
            for (&slots) |*s| {
                if (count == out.len) return count;
                if (!s.hangup_pending) continue;
                out[count] = .{ .user_data = s.user_data, .events = n.ev_hangup };
                count += 1;
                registered_count -= 1;
                release(s);
            }
            // DNS queries are answered when made: readable while registered for it.
            for (&slots) |*s| {
                if (count == out.len) return count;
                if (!s.registered or s.kind != .dns or s.interest & n.ev_readable == 0) continue;
                out[count] = .{ .user_data = s.user_data, .events = n.ev_readable };
                count += 1;
            }
            const fds = gatherFds();
            if (fds == 0 or count == out.len) return count;
            const zero = Timespec{ .sec = 0, .nsec = 0 };
            if (ppoll(&pollfds, fds, &zero, null) <= 0) return count;
            scan_start = (scan_start + 1) % fds;
            for (0..fds) |k| {
                if (count == out.len) break;
                const i = (scan_start + k) % fds;
                if (pollfds[i].revents == 0) continue;
                const slot = &slots[pollfd_slots[i]];
                const ev = readiness(slot, pollfds[i].revents) & (slot.interest | n.ev_hangup);
                if (ev == 0) continue;
                out[count] = .{ .user_data = slot.user_data, .events = ev };
                count += 1;
            }
            return count;
        }

        /// The host platform's sleep: until `deadline_ns` (maxInt: with registered sockets, for
        /// as long as it takes), or until a registered socket is ready, whichever comes first.
        pub fn sleepUntil(deadline_ns: u64) void {
            const fds = gatherFds();
            var ts: Timespec = undefined;
            var timeout: ?*const Timespec = null;
            if (deadline_ns != std.math.maxInt(u64)) {
                const now = Platform.nowNs();
                if (now >= deadline_ns) return;
                const wait = deadline_ns - now;
                ts = .{ .sec = @intCast(wait / std.time.ns_per_s), .nsec = @intCast(wait % std.time.ns_per_s) };
                timeout = &ts;
            } else if (fds == 0) return; // nothing could ever end this sleep: the caller looks again
            _ = ppoll(&pollfds, fds, timeout, null); // a signal (EINTR) just polls again
        }

    };
}
