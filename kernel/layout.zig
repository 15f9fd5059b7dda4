//! Where things live in a workload's address space, and the limits on it. The kernel owns the first
//! 512 GiB (PML4 entry 0: an identity map of physical memory, supervisor-only); ring 3 owns the next
//! 512 GiB (PML4 entry 1). user/linker.ld links workloads at `user_image_base`.
pub const page_size: u64 = 4096;

pub const user_base: u64 = 0x0000_0080_0000_0000;
pub const user_end: u64 = 0x0000_0100_0000_0000;
/// One read-only page: the WorkloadInfo block and the kernel-entry gate stub.
pub const user_info_addr: u64 = user_base;
pub const user_gate_offset: u64 = 0x100;
/// Workload PT_LOAD segments must lie in [user_image_base, user_image_end).
pub const user_image_base: u64 = user_base + 0x10_0000;
pub const user_image_end: u64 = user_base + 0x3000_0000;
pub const user_stack_top: u64 = user_base + 0x4000_0000;
pub const user_stack_size_bytes: u64 = 2 << 20;

/// Physical memory the kernel can reach through its identity map (boot.S maps 4 GiB).
pub const identity_map_end: u64 = 4 << 30;
/// Nothing below 1 MiB is handed out: boot structures (zero page, command line, PVH start info) live there.
pub const phys_alloc_min: u64 = 1 << 20;

pub const workload_info_magic: u64 = 0x5547_495a_4b52_4c44; // "DLRKZIGU"
pub const workload_info_version: u32 = 5;
/// The root image, mapped read-only (no-execute) for ring 3 to read its files (a POSIX tar): a
/// 2 MiB gap above the stack top, at most `max_root_image_bytes`.
pub const user_root_image_addr: u64 = user_stack_top + 0x20_0000;
pub const max_root_image_bytes: u64 = 64 << 20;
/// mem_map's window: everything from 4 GiB into the user half to its end (508 GiB of address
/// space, far above the image, the stack and the root image), in two parts: mappings under 2 MiB
/// in the first 4 GiB, the rest above, each starting on a 2 MiB boundary. A 2 MiB slot of the
/// upper part therefore belongs to one mapping at most, and is mapped with one 2 MiB page
/// whenever the mapping covers it whole.
pub const user_map_base: u64 = user_base + 0x1_0000_0000;
pub const user_map_large_base: u64 = user_map_base + 0x1_0000_0000;
pub const user_map_end: u64 = user_end;
/// Where the ring-3 zeroing stub lives in the info page (after the gate stub, before the argument):
/// mem_map returns through it when recycled memory must be zeroed.
pub const user_zero_offset: u64 = 0x300;
/// Where the argument bytes live in the info page, and how many fit.
pub const user_arg_offset: u64 = 0x400;
pub const max_arg_bytes: u64 = 256;

pub const GateKind = enum(u32) { syscall = 1, trap = 2 };

/// The block at `user_info_addr` that a workload receives a pointer to in rdi at entry.
pub const WorkloadInfo = extern struct {
    magic: u64,
    version: u32,
    gate_kind: u32,
    /// Address of the gate stub: `long zigu_call(long nr, long a0, long a1, long a2, long a3, long a4)`.
    gate: u64,
    stack_top: u64,
    stack_size_bytes: u64,
    /// Version 2: the launcher's argument (`zigu.arg=` on the command line; empty without one),
    /// `arg_len` bytes at `arg`, in this same read-only page.
    arg: u64,
    arg_len: u64,
    /// Version 3: the root image the workload came from (`zigu.workload=disk`), read-only, as the
    /// POSIX tar `ukernel pack` wrote; 0 and 0 for a built-in or initrd workload.
    root_image: u64,
    root_image_len: u64,
    /// Version 4: the clock, read in ring 3 without a kernel entry (vDSO-style).
    clock: Clock,
    /// Version 5: the capability kinds the policy lets the workload acquire (1 << CAP_*), so a
    /// runtime that takes everything allowed asks for nothing the kernel would refuse (and note).
    policy: u64,
};

/// `clock_now` in ring 3 (docs/kernel-abi.md, "The clock page"): while CAP_TIME is active the
/// kernel keeps `flags` and the conversion here, and the guest library computes what the call
/// would return, ns = ((rdtsc - tsc_base) * ns_mult) >> 64-bit shift 32, the kernel's own formula.
/// Without CAP_TIME the flags are 0 and the wall base is 0 (the page reveals no wall time), and
/// the library makes the call, which refuses. Read it as a sequence lock: `seq`, the fields, `seq`
/// again; odd or changed means the kernel was rewriting it (one CPU, but an interrupt may land
/// between the reads): read again.
pub const Clock = extern struct {
    seq: u32,
    flags: u32,
    tsc_base: u64,
    ns_mult: u64,
    wall_base_ns: u64,
};
/// `Clock.flags`: CLOCK_MONOTONIC may be read from the page.
pub const clock_flag_monotonic: u32 = 1;
/// `Clock.flags`: CLOCK_WALL too (`wall_base_ns` + monotonic): the wall time is known.
pub const clock_flag_wall: u32 = 2;
