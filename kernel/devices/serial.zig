//! COM1 (0x3f8): the console on QEMU microvm and Firecracker. Output, and input polled only where
//! the kernel waits for a line from the launcher (snapshot.zig: the wall clock after a restore).
const std = @import("std");
const cpu = @import("../arch/x86_64/cpu.zig");

const com1: u16 = 0x3f8;
/// Bounded wait for the transmitter, in TSC cycles (~4 s at 2.5 GHz; the clock may not be
/// calibrated yet). The VMM drains the FIFO only as fast as the host reads the console: on a
/// loaded machine that took long enough for a bound of 100,000 polls to drop bytes from a panic
/// message. Where no UART exists the status port reads 0xFF (transmitter empty), so the wait
/// never starts; only a console the host has stopped reading for seconds loses output.
const tx_wait_cycles: u64 = 10_000_000_000;
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

/// Line status bits: a received byte waits; the transmit FIFO is empty (more may go in), and
/// everything has gone out.
const lsr_data_ready: u8 = 0x01;
const lsr_thr_empty: u8 = 0x20;
const lsr_tx_empty: u8 = 0x40;

/// Waits, within tx_wait_cycles, for the line status to show `bit`; false when it never did.
fn waitLineStatus(bit: u8) bool {
    if (cpu.inb(com1 + 5) & bit != 0) return true;
    const start = cpu.rdtsc();
    while (cpu.inb(com1 + 5) & bit == 0) {
        if (cpu.rdtsc() -% start > tx_wait_cycles) return false;
    }
    return true;
}

fn putByte(byte: u8) void {
    if (fifo_room == 0) {
        if (!waitLineStatus(lsr_thr_empty)) return;
        fifo_room = tx_fifo_bytes;
    }
    cpu.outb(com1, byte);
    fifo_room -= 1;
}

/// Waits until the UART has handed every byte to the VMM (transmitter empty, LSR bit 6), within
/// the same bound as a write. Called before the VM stops: QEMU exits on the reset with whatever
/// the FIFO still holds unsent, and on a loaded host that cut the last line (`zigu: ex`).
pub fn flush() void {
    if (waitLineStatus(lsr_tx_empty)) fifo_room = tx_fifo_bytes;
}

pub fn write(bytes: []const u8) void {
    for (bytes) |b| putByte(b);
}

/// print's buffer: container-level, since a safety-checked build fills an `undefined` local with
/// 0xAA on every call (512 emulated stores under kvm-pvm). One CPU; a panic while a line is being
/// formatted may garble that line, nothing else.
var buf: [512]u8 = undefined;

/// Formats into a fixed buffer (no allocation); a line longer than the buffer is cut and marked.
pub fn print(comptime fmt: []const u8, args: anytype) void {
    const text = std.fmt.bufPrint(&buf, fmt, args) catch {
        write(buf[0 .. buf.len - 4]);
        write("...\n");
        return;
    };
    write(text);
}

/// A received byte, if one waits (no interrupt: the caller polls).
pub fn readByte() ?u8 {
    if (cpu.inb(com1 + 5) & lsr_data_ready == 0) return null;
    return cpu.inb(com1);
}
