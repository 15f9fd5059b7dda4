//! The I/O APIC: routes a device's interrupt pin to a vector on the boot CPU. QEMU microvm and
//! Firecracker both place it at 0xFEC00000 (inside the identity map); the pin of a virtio-mmio
//! device is the IRQ its `virtio_mmio.device=` entry names. QEMU microvm's second I/O APIC (pins
//! 24..47, at 0xFEC10000) serves the IRQs above 23 there.
const std = @import("std");

const bases = [_]u64{ 0xFEC0_0000, 0xFEC1_0000 };
const pins_per_apic = 24;

fn write(base: u64, reg: u32, value: u32) void {
    @as(*volatile u32, @ptrFromInt(base)).* = reg;
    @as(*volatile u32, @ptrFromInt(base + 0x10)).* = value;
}

fn read(base: u64, reg: u32) u32 {
    @as(*volatile u32, @ptrFromInt(base)).* = reg;
    return @as(*volatile u32, @ptrFromInt(base + 0x10)).*;
}

pub const Error = error{NoSuchPin};

/// Edge-triggered, active high, fixed delivery to APIC 0 (the driver acknowledges the device in
/// its handler, so each new event is a new edge).
pub fn route(irq: u32, vector: u8) Error!void {
    const which = irq / pins_per_apic;
    if (which >= bases.len) return error.NoSuchPin;
    const base = bases[which];
    const pin = irq % pins_per_apic;
    const max_pin = (read(base, 1) >> 16) & 0xFF; // IOAPICVER: maximum redirection entry
    if (max_pin == 0xFF or pin > max_pin) return error.NoSuchPin; // no I/O APIC there (the bus floats)
    write(base, 0x11 + 2 * pin, 0); // destination APIC 0
    write(base, 0x10 + 2 * pin, vector);
}
