//! A workload with a 200 MiB .bss: the kernel maps it with 2 MiB pages of memory never handed out
//! since boot, without zeroing it in ring 0 (which took minutes under kvm-pvm). Reads every byte
//! from ring 3 to check that it is zero all the same, then writes across it. Expects zigu.caps=log.
const std = @import("std");
const zigu = @import("zigu");

const size_bytes = 200 << 20;
var big: [size_bytes / 8]u64 = @splat(0);

pub fn main() u8 {
    zigu.enter(&.{.log}) catch return 3;
    const words: []volatile u64 = &big;
    var dirty: usize = 0;
    for (words) |w| dirty += @intFromBool(w != 0);
    var i: usize = 0;
    while (i < words.len) : (i += 512) words[i] = i;
    var wrong: usize = 0;
    i = 0;
    while (i < words.len) : (i += 512) wrong += @intFromBool(words[i] != i);
    zigu.print("bigbss: {d} MiB, {d} non-zero words, {d} wrong after writing", .{ size_bytes >> 20, dirty, wrong });
    return if (dirty == 0 and wrong == 0) 0 else 1;
}
