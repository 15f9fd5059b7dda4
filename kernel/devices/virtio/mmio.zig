//! The virtio-mmio transport (virtio 1.x, "modern", version 2), for devices found from
//! `virtio_mmio.device=` on the command line. QEMU microvm is started with
//! `-global virtio-mmio.force-legacy=false` so both VMMs present version 2.
const std = @import("std");
const PageAllocator = @import("../../mem/page_alloc.zig").PageAllocator;

pub const magic: u32 = 0x7472_6976; // "virt"
pub const device_net: u32 = 1;
pub const device_block: u32 = 2;

const reg = struct {
    const magic_value = 0x000;
    const version = 0x004;
    const device_id = 0x008;
    const device_features = 0x010;
    const device_features_sel = 0x014;
    const driver_features = 0x020;
    const driver_features_sel = 0x024;
    const queue_sel = 0x030;
    const queue_num_max = 0x034;
    const queue_num = 0x038;
    const queue_ready = 0x044;
    const queue_notify = 0x050;
    const interrupt_status = 0x060;
    const interrupt_ack = 0x064;
    const status = 0x070;
    const queue_desc_low = 0x080;
    const queue_desc_high = 0x084;
    const queue_avail_low = 0x090;
    const queue_avail_high = 0x094;
    const queue_used_low = 0x0a0;
    const queue_used_high = 0x0a4;
    pub const config = 0x100;
};

const status_acknowledge: u32 = 1;
const status_driver: u32 = 2;
const status_driver_ok: u32 = 4;
const status_features_ok: u32 = 8;
const feature_version_1_bit: u5 = 0; // bit 32 of the feature set: bit 0 of word 1

pub const Error = error{ NotVirtio, LegacyDevice, NoVersion1, FeaturesRefused, QueueUnavailable, OutOfMemory };

pub const Device = struct {
    base: u64,
    device_id: u32,

    pub fn read(self: Device, offset: u64) u32 {
        return @as(*volatile u32, @ptrFromInt(self.base + offset)).*;
    }
    pub fn write(self: Device, offset: u64, value: u32) void {
        @as(*volatile u32, @ptrFromInt(self.base + offset)).* = value;
    }
    pub fn config8(self: Device, offset: u64) u8 {
        return @as(*volatile u8, @ptrFromInt(self.base + reg.config + offset)).*;
    }
    pub fn config64(self: Device, offset: u64) u64 {
        return @as(u64, self.read(reg.config + offset)) | (@as(u64, self.read(reg.config + offset + 4)) << 32);
    }
    pub fn notify(self: Device, queue: u32) void {
        self.write(reg.queue_notify, queue);
    }
    pub fn ackInterrupt(self: Device) void {
        self.write(reg.interrupt_ack, self.read(reg.interrupt_status));
    }
};

/// What sits at `base`: a virtio-mmio device, its id (0: an empty slot).
pub fn probe(base: u64) Error!Device {
    const dev = Device{ .base = base, .device_id = 0 };
    if (dev.read(reg.magic_value) != magic) return error.NotVirtio;
    if (dev.read(reg.version) != 2) return error.LegacyDevice;
    return .{ .base = base, .device_id = dev.read(reg.device_id) };
}

/// Resets the device and negotiates VIRTIO_F_VERSION_1 and nothing else.
pub fn negotiate(dev: Device) Error!void {
    _ = try negotiateFeatures(dev, 0);
}

/// Resets the device and negotiates VIRTIO_F_VERSION_1 and those of the device-specific feature
/// bits 0..31 in `wanted` that the device offers; returns the ones it accepted.
pub fn negotiateFeatures(dev: Device, wanted: u32) Error!u32 {
    // One status bit at a time: Firecracker refuses a write that skips a step.
    dev.write(reg.status, 0);
    dev.write(reg.status, status_acknowledge);
    dev.write(reg.status, status_acknowledge | status_driver);
    dev.write(reg.device_features_sel, 1);
    if (dev.read(reg.device_features) & (1 << feature_version_1_bit) == 0) return error.NoVersion1;
    dev.write(reg.device_features_sel, 0);
    const accepted = dev.read(reg.device_features) & wanted;
    dev.write(reg.driver_features_sel, 0);
    dev.write(reg.driver_features, accepted);
    dev.write(reg.driver_features_sel, 1);
    dev.write(reg.driver_features, 1 << feature_version_1_bit);
    dev.write(reg.status, status_acknowledge | status_driver | status_features_ok);
    if (dev.read(reg.status) & status_features_ok == 0) return error.FeaturesRefused;
    return accepted;
}

pub fn driverOk(dev: Device) void {
    dev.write(reg.status, status_acknowledge | status_driver | status_features_ok | status_driver_ok);
}

pub const Desc = extern struct { addr: u64, len: u32, flags: u16, next: u16 };
pub const desc_next: u16 = 1;
pub const desc_write: u16 = 2;
pub const UsedElem = extern struct { id: u32, len: u32 };

/// The block device's queue: one request at a time.
pub const Queue = QueueOf(8);

/// One split virtqueue of `queue_size` entries in a single zeroed page: descriptors, then the
/// available ring, then the used ring (4-byte aligned).
pub fn QueueOf(comptime queue_size: u16) type {
    const Avail = extern struct { flags: u16, idx: u16, ring: [queue_size]u16, used_event: u16 };
    const Used = extern struct { flags: u16, idx: u16, ring: [queue_size]UsedElem, avail_event: u16 };
    return struct {
        pub const size = queue_size;
        desc: *volatile [queue_size]Desc,
        avail: *volatile Avail,
        used: *volatile Used,
        last_used: u16 = 0,

        comptime {
            std.debug.assert(@sizeOf([queue_size]Desc) + @sizeOf(Avail) + 4 + @sizeOf(Used) <= 4096);
        }

        const Self = @This();

        pub fn setup(dev: Device, index: u32, pages: *PageAllocator) Error!Self {
            dev.write(reg.queue_sel, index);
            if (dev.read(reg.queue_ready) != 0) return error.QueueUnavailable;
            if (dev.read(reg.queue_num_max) < queue_size) return error.QueueUnavailable;
            const page = pages.allocZeroed() orelse return error.OutOfMemory;
            const desc_addr = page;
            const avail_addr = desc_addr + @sizeOf([queue_size]Desc);
            const used_addr = std.mem.alignForward(u64, avail_addr + @sizeOf(Avail), 4);
            dev.write(reg.queue_num, queue_size);
            dev.write(reg.queue_desc_low, @truncate(desc_addr));
            dev.write(reg.queue_desc_high, @truncate(desc_addr >> 32));
            dev.write(reg.queue_avail_low, @truncate(avail_addr));
            dev.write(reg.queue_avail_high, @truncate(avail_addr >> 32));
            dev.write(reg.queue_used_low, @truncate(used_addr));
            dev.write(reg.queue_used_high, @truncate(used_addr >> 32));
            dev.write(reg.queue_ready, 1);
            return .{ .desc = @ptrFromInt(desc_addr), .avail = @ptrFromInt(avail_addr), .used = @ptrFromInt(used_addr) };
        }

        /// Offers the chain that starts at descriptor `head` to the device.
        pub fn submit(self: *Self, head: u16) void {
            const slot = self.avail.idx % queue_size;
            self.avail.ring[slot] = head;
            asm volatile ("" ::: .{ .memory = true }); // the ring entry before the index (x86: stores stay in order)
            self.avail.idx +%= 1;
        }

        /// Whether the device has returned a chain since the last call.
        pub fn takeUsed(self: *Self) bool {
            return self.popUsed() != null;
        }

        /// Whether a returned chain waits.
        pub fn hasUsed(self: *const Self) bool {
            return self.used.idx != self.last_used;
        }

        /// The next chain the device returned (its head and the bytes it wrote), if any.
        pub fn popUsed(self: *Self) ?UsedElem {
            if (self.used.idx == self.last_used) return null;
            asm volatile ("" ::: .{ .memory = true }); // the index before the entry
            const e = self.used.ring[self.last_used % queue_size];
            self.last_used +%= 1;
            return .{ .id = e.id, .len = e.len };
        }
    };
}
