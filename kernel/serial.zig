//! COM1 (0x3f8): the console on QEMU microvm and Firecracker. Output only.
const std = @import("std");
const cpu = @import("arch/x86_64/cpu.zig");

const com1: u16 = 0x3f8;
/// Bounded wait for the transmitter; both VMMs drain it at once, so a full spin means no UART,
/// and dropping the byte beats hanging.
const tx_spin_limit: u32 = 100_000;
/// The 16550's transmit FIFO: once the line status says it is empty, this many bytes go in without
/// another look. Every port access is a VM exit, so polling per byte would double the cost of output.
const tx_fifo_bytes: u32 = 16;
var fifo_room: u32 = 0;

pub fn init() void {
    cpu.outb(com1 + 1, 0x00); // no interrupts
    cpu.outb(com1 + 3, 0x80); // DLAB
    cpu.outb(com1 + 0, 0x01); // 115200 baud
    cpu.outb(com1 + 1, 0x00);
    cpu.outb(com1 + 3, 0x03); // 8N1
    cpu.outb(com1 + 2, 0xC7); // FIFO on, cleared
}

fn putByte(byte: u8) void {
    if (fifo_room == 0) {
        var spins: u32 = 0;
        while (cpu.inb(com1 + 5) & 0x20 == 0) : (spins += 1) {
            if (spins >= tx_spin_limit) return;
        }
        fifo_room = tx_fifo_bytes;
    }
    cpu.outb(com1, byte);
    fifo_room -= 1;
}

pub fn write(bytes: []const u8) void {
    for (bytes) |b| putByte(b);
}

/// Formats into a fixed buffer (no allocation); a line longer than the buffer is cut and marked.
pub fn print(comptime fmt: []const u8, args: anytype) void {
    var buf: [512]u8 = undefined;
    const text = std.fmt.bufPrint(&buf, fmt, args) catch {
        write(buf[0 .. buf.len - 4]);
        write("...\n");
        return;
    };
    write(text);
}
