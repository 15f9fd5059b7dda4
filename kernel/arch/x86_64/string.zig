//! The C string functions the compiler emits calls to (the kernel has no compiler_rt or libc).
//! Kernel code calls them through mem/bytes.zig rather than @memcpy/@memset: in Debug builds those
//! builtins become byte loops, and under kvm-pvm every ring-0 instruction is emulated.

/// Bulk copies and fills move 8 bytes per iteration: under kvm-pvm every iteration of a ring-0
/// string instruction is emulated, so `rep movsq` is about eight times faster than `rep movsb`.
export fn memcpy(dest: ?[*]u8, src: ?[*]const u8, len: usize) callconv(.c) ?[*]u8 {
    var d = dest;
    var s = src;
    var quads = len / 8;
    var tail = len % 8;
    asm volatile (
        \\rep movsq
        \\movq %%rdx, %%rcx
        \\rep movsb
        : [d] "+{rdi}" (d),
          [s] "+{rsi}" (s),
          [n] "+{rcx}" (quads),
          [t] "+{rdx}" (tail),
        :
        : .{ .memory = true });
    return dest;
}

export fn memmove(dest: ?[*]u8, src: ?[*]const u8, len: usize) callconv(.c) ?[*]u8 {
    const d = @intFromPtr(dest);
    const s = @intFromPtr(src);
    if (d <= s or d >= s + len) return memcpy(dest, src, len);
    var i = len;
    while (i > 0) {
        i -= 1;
        dest.?[i] = src.?[i];
    }
    return dest;
}

export fn memset(dest: ?[*]u8, value: c_int, len: usize) callconv(.c) ?[*]u8 {
    var d = dest;
    var quads = len / 8;
    var tail = len % 8;
    const byte: u64 = @as(u8, @truncate(@as(c_uint, @bitCast(value))));
    asm volatile (
        \\rep stosq
        \\movq %%rdx, %%rcx
        \\rep stosb
        : [d] "+{rdi}" (d),
          [n] "+{rcx}" (quads),
          [t] "+{rdx}" (tail),
        : [v] "{rax}" (byte *% 0x0101_0101_0101_0101),
        : .{ .memory = true });
    return dest;
}

export fn memcmp(a: [*]const u8, b: [*]const u8, len: usize) callconv(.c) c_int {
    for (0..len) |i| {
        if (a[i] != b[i]) return @as(c_int, a[i]) - @as(c_int, b[i]);
    }
    return 0;
}

