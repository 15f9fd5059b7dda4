//! The memory workload: mem_map and mem_unmap from ring 3, hostile inputs first. Expects
//! zigu.caps=log and zigu.memory_limit_mib=16. Prints one line per failure and a summary; exits 0
//! only when every check passed. With `zigu.arg=exec` it runs code from mapped memory instead,
//! and with `zigu.arg=after-unmap` it reads memory it has unmapped: each must end in a page fault.
const std = @import("std");
const zigu = @import("zigu");
const abi = zigu.abi;

var passed: u32 = 0;
var failed: u32 = 0;

fn expect(comptime what: []const u8, ok: bool) void {
    if (ok) passed += 1 else {
        failed += 1;
        zigu.print("memory: FAIL " ++ what, .{});
    }
}

const limit_bytes: u64 = 16 << 20;
const large: u64 = abi.large_page_bytes;
const window_base: u64 = zigu.layout.user_map_base;
const large_base: u64 = zigu.layout.user_map_large_base;

fn mapRaw(len: u64) i64 {
    return zigu.raw(.mem_map, len, 0, 0);
}

fn unmapRaw(addr: u64, len: u64) i64 {
    return zigu.raw(.mem_unmap, addr, len, 0);
}

const invalid: i64 = @intFromEnum(abi.Error.invalid);
const no_space: i64 = @intFromEnum(abi.Error.no_space);

/// Every byte is zero: read as words from ring 3.
fn allZero(mem: []align(4096) const u8) bool {
    const words = std.mem.bytesAsSlice(u64, mem);
    var acc: u64 = 0;
    for (words) |w| acc |= w;
    return acc == 0;
}

fn fill(mem: []align(4096) u8, byte: u8) void {
    @memset(mem, byte);
}

var image_word: u64 = 42; // a word of the ELF image's .data

fn hostileLengths() void {
    // 0, not a page multiple, larger than any mapping, and lengths that wrap when rounded.
    for ([_]u64{ 0, 1, 8, 4095, 4097, (2 << 20) + 1, abi.max_map_bytes + 4096, std.math.maxInt(u64), std.math.maxInt(u64) - 4095, 1 << 63 }) |len| {
        expect("mem_map of a bad length is invalid", mapRaw(len) == invalid);
    }
    // A length the decoder accepts but the limit refuses: no_space, not a panic or a hang.
    expect("mem_map of 16 GiB is over the limit", mapRaw(abi.max_map_bytes) == no_space);
    expect("mem_map of the limit plus a page is over it", mapRaw(limit_bytes + 4096) == no_space);
}

fn mapWriteRead() void {
    const big = zigu.memMap(large) catch {
        expect("mem_map of 2 MiB", false);
        return;
    };
    expect("a 2 MiB mapping lies in the window, 2 MiB aligned", @intFromPtr(big.ptr) >= large_base and @intFromPtr(big.ptr) % large == 0);
    expect("a 2 MiB mapping reads as zero", allZero(big));
    fill(big, 0xA5);
    expect("a 2 MiB mapping keeps what is written", big[0] == 0xA5 and big[big.len - 1] == 0xA5);
    const small = zigu.memMap(3 * 4096) catch {
        expect("mem_map of 12 KiB", false);
        return;
    };
    expect("a 12 KiB mapping reads as zero", allZero(small));
    expect("a 12 KiB mapping lies in the lower window", @intFromPtr(small.ptr) >= window_base and @intFromPtr(small.ptr) < large_base);
    fill(small, 0x5A);
    expect("two mappings do not overlap", @intFromPtr(small.ptr) + small.len <= @intFromPtr(big.ptr) or @intFromPtr(big.ptr) + big.len <= @intFromPtr(small.ptr));

    // Not mem_map's memory, or not a whole mapping: refused, and everything stays mapped.
    var on_stack: u64 = 7;
    const stack_page = std.mem.alignBackward(u64, @intFromPtr(&on_stack), 4096);
    expect("unmapping the stack is invalid", unmapRaw(stack_page, 4096) == invalid);
    expect("unmapping the top 2 MiB of the stack is invalid", unmapRaw(zigu.layout.user_stack_top - large, large) == invalid);
    expect("unmapping the ELF's data is invalid", unmapRaw(std.mem.alignBackward(u64, @intFromPtr(&image_word), 4096), 4096) == invalid);
    expect("unmapping the ELF's text is invalid", unmapRaw(std.mem.alignBackward(u64, @intFromPtr(&mapWriteRead), 4096), 4096) == invalid);
    expect("unmapping the info page is invalid", unmapRaw(zigu.layout.user_info_addr, 4096) == invalid);
    expect("unmapping kernel memory is invalid", unmapRaw(0x100000, 4096) == invalid);
    expect("unmapping a non-canonical address is invalid", unmapRaw(0x8000_0000_0000_0000, 4096) == invalid);
    expect("unmapping half a mapping is invalid", unmapRaw(@intFromPtr(big.ptr), large / 2) == invalid);
    expect("unmapping a mapping's tail is invalid", unmapRaw(@intFromPtr(big.ptr) + 4096, large - 4096) == invalid);
    expect("unmapping two mappings at once is invalid", unmapRaw(@min(@intFromPtr(big.ptr), @intFromPtr(small.ptr)), large + 3 * 4096 + large) == invalid);
    expect("unmapping with a bad length is invalid", unmapRaw(@intFromPtr(big.ptr), 0) == invalid and unmapRaw(@intFromPtr(big.ptr), large + 1) == invalid);
    on_stack += 1;
    image_word += 1;
    expect("the stack and the image still work", on_stack == 8 and image_word == 43);
    expect("refused unmaps left the mappings alone", big[4096] == 0xA5 and small[8191] == 0x5A);

    // Recycled memory comes back zero: the same sizes are placed at the same addresses again.
    const big_addr = @intFromPtr(big.ptr);
    const small_addr = @intFromPtr(small.ptr);
    expect("unmapping a mapping", unmapRaw(big_addr, large) == 0 and unmapRaw(small_addr, small.len) == 0);
    expect("unmapping it twice is invalid", unmapRaw(big_addr, large) == invalid and unmapRaw(small_addr, small.len) == invalid);
    const big2 = zigu.memMap(large) catch {
        expect("mem_map after unmap", false);
        return;
    };
    const small2 = zigu.memMap(3 * 4096) catch {
        expect("mem_map after unmap", false);
        return;
    };
    expect("the unmapped addresses are reused", @intFromPtr(big2.ptr) == big_addr and @intFromPtr(small2.ptr) == small_addr);
    expect("recycled 2 MiB reads as zero", allZero(big2));
    expect("a remapped 12 KiB reads as zero", allZero(small2)); // from fresh pages first, or recycled ones zeroed
    zigu.memUnmap(big2) catch expect("unmap", false);
    zigu.memUnmap(small2) catch expect("unmap", false);
}

/// mem_map entered with a bare `int3` (the trap gate, which works on every platform), not through
/// the gate stub, with the direction flag set and callee-saved registers holding values: the
/// kernel still returns through its zeroing stub, so recycled memory is zero even for a workload
/// that skips the stub; rbx, rbp and r12-r15 come back as they were, and DF comes back clear.
fn bareTrapMap(len: u64) struct { value: i64, flags: u64, kept: bool } {
    var value: i64 = undefined;
    var flags: u64 = undefined;
    var kept: u64 = undefined;
    asm volatile (
        \\pushq %%rbx
        \\pushq %%rbp
        \\movq $0x1111, %%rbx
        \\movq $0x2222, %%rbp
        \\movq $0x3333, %%r12
        \\movq $0x4444, %%r13
        \\movq $0x5555, %%r14
        \\movq $0x6666, %%r15
        \\std
        \\int3
        \\pushfq
        \\popq %%rdx
        \\cld
        \\xorl %%ecx, %%ecx
        \\cmpq $0x1111, %%rbx
        \\jne 1f
        \\cmpq $0x2222, %%rbp
        \\jne 1f
        \\cmpq $0x3333, %%r12
        \\jne 1f
        \\cmpq $0x4444, %%r13
        \\jne 1f
        \\cmpq $0x5555, %%r14
        \\jne 1f
        \\cmpq $0x6666, %%r15
        \\jne 1f
        \\movl $1, %%ecx
        \\1:
        \\popq %%rbp
        \\popq %%rbx
        : [value] "={rax}" (value),
          [flags] "={rdx}" (flags),
          [kept] "={rcx}" (kept),
        : [nr] "{rax}" (@as(u64, @intFromEnum(abi.Call.mem_map))),
          [len] "{rdi}" (len),
        : .{ .rsi = true, .rdi = true, .r8 = true, .r9 = true, .r10 = true, .r11 = true, .r12 = true, .r13 = true, .r14 = true, .r15 = true, .memory = true });
    return .{ .value = value, .flags = flags, .kept = kept == 1 };
}

fn bypassTheStub() void {
    const first = zigu.memMap(large) catch {
        expect("mem_map", false);
        return;
    };
    fill(first, 0xEE);
    const at = @intFromPtr(first.ptr);
    zigu.memUnmap(first) catch expect("unmap", false);
    const r = bareTrapMap(large);
    expect("mem_map through a bare int3 maps the same 2 MiB again", r.value == @as(i64, @intCast(at)));
    expect("... and it reads as zero: the kernel zeroes it whichever way the call came", r.value > 0 and allZero(@as([*]align(4096) u8, @ptrFromInt(@as(u64, @intCast(r.value))))[0..large]));
    expect("... the callee-saved registers are kept", r.kept);
    expect("... and the direction flag comes back clear", r.flags & (1 << 10) == 0);
    if (r.value > 0) _ = unmapRaw(@intCast(r.value), large);
}

/// Up to the limit and no further, in 2 MiB steps; then all of it given back.
fn upToTheLimit() void {
    var maps: [8][]align(4096) u8 = undefined;
    var n: usize = 0;
    while (n < maps.len) : (n += 1) {
        maps[n] = zigu.memMap(large) catch break;
        maps[n][maps[n].len - 1] = 1;
    }
    expect("the limit holds exactly 8 mappings of 2 MiB", n == 8);
    expect("one page more is over the limit", mapRaw(4096) == no_space);
    for (maps[0..n]) |m| zigu.memUnmap(m) catch expect("unmap", false);
    expect("after unmapping, the whole limit maps again", mapRaw(limit_bytes) > 0);
    expect("... and unmaps", unmapRaw(large_base, limit_bytes) == 0);
}

/// Mapping and unmapping many times leaks nothing: neither the limit nor physical memory (the
/// boot test gives the guest 64 MiB, far less than 60 × 2 MiB), nor address space.
fn churn() void {
    var ok = true;
    for (0..120) |i| {
        const m = zigu.memMap(if (i % 2 == 0) large else 5 * 4096) catch {
            ok = false;
            break;
        };
        if (!allZero(m)) ok = false;
        fill(m, @truncate(i | 1));
        zigu.memUnmap(m) catch {
            ok = false;
            break;
        };
    }
    expect("120 map, write, unmap rounds, each zero", ok);
}

/// The table of mappings is bounded: one past MAX_MAPPINGS is no_space.
fn tableFull() void {
    var n: u64 = 0;
    var first: u64 = 0;
    while (n < abi.max_mappings + 1) : (n += 1) {
        const r = mapRaw(4096);
        if (r < 0) {
            expect("a full mapping table is no_space", r == no_space);
            break;
        }
        if (n == 0) first = @intCast(r);
    }
    expect("MAX_MAPPINGS mappings fit", n == abi.max_mappings);
    // The first one, then the rest from the top down (each unmap below the top moves the
    // table's tail, a cost the workload pays in its own calls).
    var ok = unmapRaw(first, 4096) == 0;
    var i = n;
    while (i > 1) {
        i -= 1;
        if (unmapRaw(first + i * 4096, 4096) != 0) ok = false;
    }
    expect("every mapping of the full table unmaps", ok);
}

fn execMapped() u8 {
    const m = zigu.memMap(4096) catch return 2;
    m[0] = 0xC3; // ret
    const f: *const fn () callconv(.c) void = @ptrCast(m.ptr);
    f(); // NX: a page fault ends the workload
    zigu.print("memory: mapped memory ran as code", .{});
    return 1;
}

fn readAfterUnmap() u8 {
    const m = zigu.memMap(large) catch return 2;
    const p: *volatile u8 = &m[100];
    p.* = 1;
    zigu.memUnmap(m) catch return 3;
    _ = p.*; // unmapped: a page fault ends the workload
    zigu.print("memory: unmapped memory still readable", .{});
    return 1;
}

/// Without a limit: 2 MiB at a time until the guest's memory runs out, which must be no_space.
fn exhaust() u8 {
    var mapped: u64 = 0;
    const err = while (true) {
        const r = mapRaw(large);
        if (r < 0) break r;
        const p: [*]volatile u8 = @ptrFromInt(@as(u64, @intCast(r)));
        p[0] = 1;
        mapped += large;
    };
    // What is left is still usable in 4 KiB pages (the last 2 MiB is not there whole).
    var small: u64 = 0;
    while (mapRaw(4096) > 0) small += 4096;
    zigu.print("memory: exhausted after {d} MiB and {d} KiB, then {s}", .{ mapped >> 20, small >> 10, if (err == no_space) "no_space" else "another error" });
    return if (err == no_space and mapped > 0) 0 else 1;
}

pub fn main() u8 {
    zigu.enter(&.{.log}) catch return 3;
    const arg = zigu.launchArg();
    if (std.mem.eql(u8, arg, "exec")) return execMapped();
    if (std.mem.eql(u8, arg, "after-unmap")) return readAfterUnmap();
    if (std.mem.eql(u8, arg, "exhaust")) return exhaust();
    hostileLengths();
    mapWriteRead();
    bypassTheStub();
    upToTheLimit();
    churn();
    tableFull();
    zigu.print("memory: passed {d}", .{passed});
    zigu.print("memory: failed {d}", .{failed});
    return if (failed == 0) 0 else 1;
}
