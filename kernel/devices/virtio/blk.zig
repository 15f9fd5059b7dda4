//! virtio-blk, read-only and synchronous: enough to read the root image at boot. One request at
//! a time, completion polled (no interrupt): the kernel has nothing else to do meanwhile.
const std = @import("std");
const mmio = @import("mmio.zig");
const time = @import("../../time.zig");
const PageAllocator = @import("../../mem/page_alloc.zig").PageAllocator;

pub const sector_bytes: u64 = 512;
/// Bytes per request: one contiguous data descriptor.
const max_request_bytes: u64 = 64 * 1024;
/// A request the device has not completed in this long is a failure, not a hang.
const request_timeout_ns: u64 = 5_000_000_000;

const request_in: u32 = 0;

const Header = extern struct { type: u32, reserved: u32, sector: u64 };

pub const Error = mmio.Error || error{ IoError, Timeout, OutOfRange };

pub const Blk = struct {
    dev: mmio.Device,
    queue: mmio.Queue,
    capacity_sectors: u64,
    /// One page: the request header at 0, the status byte at 64.
    scratch: u64,

    pub fn init(dev: mmio.Device, pages: *PageAllocator) Error!Blk {
        std.debug.assert(dev.device_id == mmio.device_block);
        try mmio.negotiate(dev);
        const queue = try mmio.Queue.setup(dev, 0, pages);
        const scratch = pages.allocZeroed() orelse return error.OutOfMemory;
        mmio.driverOk(dev);
        return .{ .dev = dev, .queue = queue, .capacity_sectors = dev.config64(0), .scratch = scratch };
    }

    pub fn sizeBytes(self: *const Blk) u64 {
        return self.capacity_sectors * sector_bytes;
    }

    /// Reads `out.len` bytes (a multiple of the sector size) from byte `offset`. `out` must be
    /// identity-mapped kernel memory (its address is the device's DMA address).
    pub fn read(self: *Blk, offset: u64, out: []u8) Error!void {
        std.debug.assert(offset % sector_bytes == 0 and out.len % sector_bytes == 0);
        if (offset + out.len > self.sizeBytes()) return error.OutOfRange;
        var done: u64 = 0;
        while (done < out.len) {
            const n = @min(max_request_bytes, out.len - done);
            try self.request((offset + done) / sector_bytes, @intFromPtr(out.ptr) + done, n);
            done += n;
        }
    }

    fn request(self: *Blk, sector: u64, addr: u64, len: u64) Error!void {
        const header: *volatile Header = @ptrFromInt(self.scratch);
        const status: *volatile u8 = @ptrFromInt(self.scratch + 64);
        header.* = .{ .type = request_in, .reserved = 0, .sector = sector };
        status.* = 0xFF;
        self.queue.desc[0] = .{ .addr = self.scratch, .len = @sizeOf(Header), .flags = mmio.desc_next, .next = 1 };
        self.queue.desc[1] = .{ .addr = addr, .len = @intCast(len), .flags = mmio.desc_next | mmio.desc_write, .next = 2 };
        self.queue.desc[2] = .{ .addr = self.scratch + 64, .len = 1, .flags = mmio.desc_write, .next = 0 };
        self.queue.submit(0);
        self.dev.notify(0);
        const start = time.nowNs();
        while (!self.queue.takeUsed()) {
            if (time.nowNs() - start > request_timeout_ns) return error.Timeout;
        }
        self.dev.ackInterrupt();
        if (status.* != 0) return error.IoError;
    }
};
