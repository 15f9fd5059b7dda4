//! virtio-net: frames between the device and the calls net_send/net_recv (core/calls.zig), which
//! copy each frame straight between the workload's buffer and a device buffer here. Two queues of
//! 128 buffers of 2 KiB (a 12-byte virtio header, then the frame); completion is signalled by the
//! device's interrupt (routed through the IOAPIC), which only ends io_poll's sleep: the rings
//! themselves are read when a call asks.
const std = @import("std");
const mmio = @import("mmio.zig");
const PageAllocator = @import("../../mem/page_alloc.zig").PageAllocator;

const Queue = mmio.QueueOf(128);
const buf_bytes: u64 = 2048;
/// virtio_net_hdr with num_buffers (VIRTIO_F_VERSION_1): all zero on send (no offloads).
const header_bytes: u64 = 12;
const feature_mac: u32 = 1 << 5;
pub const max_frame_bytes: usize = 1514;

comptime {
    std.debug.assert(header_bytes + max_frame_bytes <= buf_bytes);
}

pub const Error = mmio.Error;

pub const Net = struct {
    dev: mmio.Device,
    rx: Queue,
    tx: Queue,
    rx_bufs: u64,
    tx_bufs: u64,
    mac: [6]u8,
    /// The received buffer netRxPeek handed out, until netRxRelease.
    rx_current: ?mmio.UsedElem = null,
    tx_free: [Queue.size]u16 = undefined,
    tx_free_count: usize = 0,

    pub fn init(self: *Net, dev: mmio.Device, pages: *PageAllocator) Error!void {
        std.debug.assert(dev.device_id == mmio.device_net);
        const features = try mmio.negotiateFeatures(dev, feature_mac);
        const pages_per_queue = Queue.size * buf_bytes / 4096;
        self.* = .{
            .dev = dev,
            .rx = try Queue.setup(dev, 0, pages),
            .tx = try Queue.setup(dev, 1, pages),
            .rx_bufs = pages.allocContiguous(pages_per_queue) orelse return error.OutOfMemory,
            .tx_bufs = pages.allocContiguous(pages_per_queue) orelse return error.OutOfMemory,
            .mac = .{ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
        };
        if (features & feature_mac != 0) {
            for (&self.mac, 0..) |*b, i| b.* = dev.config8(i);
        }
        for (0..Queue.size) |i| {
            self.rx.desc[i] = .{ .addr = self.rx_bufs + i * buf_bytes, .len = @intCast(buf_bytes), .flags = mmio.desc_write, .next = 0 };
            self.rx.submit(@intCast(i));
            self.tx_free[i] = @intCast(i);
        }
        self.tx_free_count = Queue.size;
        mmio.driverOk(dev);
        dev.notify(0);
    }

    /// Interrupt: acknowledge (the rings are read when a call asks).
    pub fn ack(self: *Net) void {
        self.dev.ackInterrupt();
    }

    fn reclaimTx(self: *Net) void {
        while (self.tx.popUsed()) |e| {
            if (e.id >= Queue.size) continue; // a device that names no buffer of ours
            self.tx_free[self.tx_free_count] = @intCast(e.id);
            self.tx_free_count += 1;
        }
    }

    pub fn readable(self: *const Net) bool {
        return self.rx_current != null or self.rx.hasUsed();
    }

    pub fn writable(self: *Net) bool {
        if (self.tx_free_count == 0) self.reclaimTx();
        return self.tx_free_count > 0;
    }

    pub fn txBuffer(self: *Net) ?[]u8 {
        if (!self.writable()) return null;
        const id = self.tx_free[self.tx_free_count - 1];
        const p: [*]u8 = @ptrFromInt(self.tx_bufs + id * buf_bytes + header_bytes);
        return p[0..max_frame_bytes];
    }

    pub fn txSubmit(self: *Net, len: usize) void {
        std.debug.assert(self.tx_free_count > 0 and len <= max_frame_bytes);
        self.tx_free_count -= 1;
        const id = self.tx_free[self.tx_free_count];
        const addr = self.tx_bufs + id * buf_bytes;
        @memset(@as([*]u8, @ptrFromInt(addr))[0..header_bytes], 0);
        self.tx.desc[id] = .{ .addr = addr, .len = @intCast(header_bytes + len), .flags = 0, .next = 0 };
        self.tx.submit(id);
    }

    pub fn txFlush(self: *Net) void {
        self.dev.notify(1);
    }

    pub fn rxPeek(self: *Net) ?[]const u8 {
        if (self.rx_current == null) {
            const e = self.rx.popUsed() orelse return null;
            if (e.id >= Queue.size) return null; // a device that names no buffer of ours
            self.rx_current = e;
        }
        const e = self.rx_current.?;
        const len = @min(@as(u64, e.len), buf_bytes);
        const p: [*]const u8 = @ptrFromInt(self.rx_bufs + e.id * buf_bytes);
        return if (len <= header_bytes) p[0..0] else p[header_bytes..len];
    }

    pub fn rxRelease(self: *Net) void {
        const e = self.rx_current orelse return;
        self.rx_current = null;
        self.rx.desc[e.id] = .{ .addr = self.rx_bufs + e.id * buf_bytes, .len = @intCast(buf_bytes), .flags = mmio.desc_write, .next = 0 };
        self.rx.submit(@intCast(e.id));
    }

    pub fn rxFlush(self: *Net) void {
        self.dev.notify(0);
    }
};
