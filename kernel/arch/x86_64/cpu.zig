//! The one place that touches CPU state: port I/O, MSRs, control registers, GDT/TSS/IDT and the
//! feature set-up for ring 3 (SSE on for workloads, never used by the kernel).
const std = @import("std");

pub const kernel_cs: u16 = 0x08;
pub const kernel_ds: u16 = 0x10;
pub const user_ds: u16 = 0x18 | 3;
pub const user_cs: u16 = 0x20 | 3;
const tss_selector: u16 = 0x28;

pub inline fn outb(port: u16, value: u8) void {
    asm volatile ("outb %[value], %[port]"
        :
        : [value] "{al}" (value),
          [port] "{dx}" (port),
    );
}

pub inline fn inb(port: u16) u8 {
    return asm volatile ("inb %[port], %[value]"
        : [value] "={al}" (-> u8),
        : [port] "{dx}" (port),
    );
}

pub inline fn rdtsc() u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("rdtsc"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
    );
    return (@as(u64, hi) << 32) | lo;
}

pub inline fn rdmsr(msr: u32) u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("rdmsr"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
        : [msr] "{ecx}" (msr),
    );
    return (@as(u64, hi) << 32) | lo;
}

pub inline fn wrmsr(msr: u32, value: u64) void {
    asm volatile ("wrmsr"
        :
        : [msr] "{ecx}" (msr),
          [lo] "{eax}" (@as(u32, @truncate(value))),
          [hi] "{edx}" (@as(u32, @truncate(value >> 32))),
    );
}

pub inline fn readCr2() u64 {
    return asm volatile ("mov %%cr2, %[v]"
        : [v] "=r" (-> u64),
    );
}

pub inline fn readCr3() u64 {
    return asm volatile ("mov %%cr3, %[v]"
        : [v] "=r" (-> u64),
    );
}

pub inline fn writeCr3(value: u64) void {
    asm volatile ("mov %[v], %%cr3"
        :
        : [v] "r" (value),
        : .{ .memory = true });
}

pub inline fn invlpg(addr: u64) void {
    asm volatile ("invlpg (%[a])"
        :
        : [a] "r" (addr),
        : .{ .memory = true });
}

pub const rflags_df: u64 = 1 << 10;
pub const rflags_ac: u64 = 1 << 18;

pub inline fn readFlags() u64 {
    return asm volatile (
        \\pushfq
        \\popq %[v]
        : [v] "=r" (-> u64),
    );
}

pub fn haltForever() noreturn {
    while (true) asm volatile ("cli; hlt");
}

// ---- GDT and TSS -------------------------------------------------------------------------------

const Tss = extern struct {
    words: [26]u32 align(16) = @splat(0),

    fn setRsp0(self: *Tss, rsp: u64) void {
        self.words[1] = @truncate(rsp);
        self.words[2] = @truncate(rsp >> 32);
    }
    fn setIst(self: *Tss, index: u3, rsp: u64) void {
        std.debug.assert(index >= 1);
        const word = 9 + 2 * @as(usize, index - 1);
        self.words[word] = @truncate(rsp);
        self.words[word + 1] = @truncate(rsp >> 32);
    }
};

var tss: Tss = .{};
var gdt: [7]u64 align(16) = .{
    0,
    0x00AF9A000000FFFF, // 0x08 kernel code 64
    0x00CF92000000FFFF, // 0x10 kernel data
    0x00CFF2000000FFFF, // 0x18 user data (DPL 3)
    0x00AFFA000000FFFF, // 0x20 user code 64 (DPL 3)
    0, // 0x28 TSS (two slots)
    0,
};

const DescriptorPtr = extern struct { limit: u16 align(1), base: u64 align(1) };

// Stacks (boot.S): the trap stack takes interrupts, exceptions and both kernel-entry gates from
// ring 3; the fault stack (IST 1) takes double faults, NMI and machine checks, which must work
// even when the stack they interrupted is broken.
extern const trap_stack_top: u8;
extern const fault_stack_top: u8;
extern var trap_stack_top_ptr: u64;

pub fn initGdt() void {
    const trap_top = @intFromPtr(&trap_stack_top);
    tss.setRsp0(trap_top);
    tss.setIst(1, @intFromPtr(&fault_stack_top));
    tss.words[25] = @as(u32, @sizeOf(Tss)) << 16; // I/O bitmap past the end: no port access from ring 3
    trap_stack_top_ptr = trap_top;

    const base = @intFromPtr(&tss);
    const limit: u64 = @sizeOf(Tss) - 1;
    gdt[5] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (@as(u64, 0x89) << 40) | (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[6] = base >> 32;

    const ptr = DescriptorPtr{ .limit = @sizeOf(@TypeOf(gdt)) - 1, .base = @intFromPtr(&gdt) };
    asm volatile (
        \\lgdt (%[ptr])
        \\pushq $0x08
        \\leaq 1f(%%rip), %%rax
        \\pushq %%rax
        \\lretq
        \\1:
        \\movw $0x10, %%ax
        \\movw %%ax, %%ds
        \\movw %%ax, %%es
        \\movw %%ax, %%ss
        \\movw %[tss], %%ax
        \\ltr %%ax
        :
        : [ptr] "r" (&ptr),
          [tss] "i" (tss_selector),
        : .{ .rax = true, .memory = true });
}

// ---- IDT ---------------------------------------------------------------------------------------

const IdtEntry = extern struct {
    offset_lo: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_hi: u32,
    reserved: u32 = 0,
};

var idt: [256]IdtEntry align(16) = undefined;
extern const isr_table: [49]u64;

/// Vector 3 (int3) is the trap gate workloads use where `syscall` cannot enter ring 0.
pub const trap_gate_vector: u8 = 3;

fn setGate(vector: usize, handler: u64, dpl: u2, ist: u3) void {
    idt[vector] = .{
        .offset_lo = @truncate(handler),
        .selector = kernel_cs,
        .ist = ist,
        .type_attr = 0x8E | (@as(u8, dpl) << 5), // present, 64-bit interrupt gate
        .offset_mid = @truncate(handler >> 16),
        .offset_hi = @truncate(handler >> 32),
    };
}

extern fn bare_entry() callconv(.naked) void;
/// The trap gate's entry (entry.S): int3 from ring 3 is a call.
extern fn gate_trap_entry() callconv(.naked) void;

/// `zigu.test=bare-entry`, for the ABI benchmark: a `ud2` in ring 3 enters ring 0 and returns past
/// itself after two ring-0 instructions (entry.S, bare_entry), instead of ending the workload: the
/// floor a kernel entry costs on this machine, which the benchmark sets the gates beside. (The only
/// other ways in that ring 3 has under kvm-pvm, `int N` for N other than 3 and `int1`, raise #UD or
/// hang there.)
pub fn bareEntryOnUd() void {
    setGate(6, @intFromPtr(&bare_entry), 0, 0);
}

/// The IDT is in .bss, which the VMM hands over zeroed: only the gates in use are written (each
/// ring-0 store is emulated under kvm-pvm).
pub fn initIdt() void {
    for (0..48) |vector| {
        const ist: u3 = switch (vector) {
            2, 8, 18 => 1, // NMI, double fault, machine check
            else => 0,
        };
        if (vector == trap_gate_vector) setGate(vector, @intFromPtr(&gate_trap_entry), 3, ist) else setGate(vector, isr_table[vector], 0, ist);
    }
    setGate(255, isr_table[48], 0, 0);
    const ptr = DescriptorPtr{ .limit = @sizeOf(@TypeOf(idt)) - 1, .base = @intFromPtr(&idt) };
    asm volatile ("lidt (%[ptr])"
        :
        : [ptr] "r" (&ptr),
        : .{ .memory = true });
}

// ---- syscall MSRs and ring-3 FPU/SSE -------------------------------------------------------------

const msr_efer: u32 = 0xC000_0080;
const msr_star: u32 = 0xC000_0081;
const msr_lstar: u32 = 0xC000_0082;
const msr_sfmask: u32 = 0xC000_0084;

extern fn syscall_entry() callconv(.naked) void;

pub fn syscallEntryAddress() u64 {
    return @intFromPtr(&syscall_entry);
}

pub fn initSyscall() void {
    wrmsr(msr_efer, rdmsr(msr_efer) | 1); // SCE
    // syscall: CS = 0x08, SS = 0x10. sysretq: CS = 0x10 + 16 = 0x20, SS = 0x10 + 8 = 0x18 (RPL 3).
    wrmsr(msr_star, (@as(u64, 0x10) << 48) | (@as(u64, kernel_cs) << 32));
    wrmsr(msr_lstar, syscallEntryAddress());
    // Clear TF, IF, DF, NT and AC on entry.
    wrmsr(msr_sfmask, 0x4_7700);
}

/// SSE for ring 3: CR0.MP set, EM and TS clear, CR4.OSFXSR | OSXMMEXCPT. The kernel is built
/// without SSE, so the workload's xmm registers survive every kernel entry untouched.
pub fn enableUserSse() void {
    asm volatile (
        \\mov %%cr0, %%rax
        \\and $~0xC, %%rax
        \\or $0x2, %%rax
        \\mov %%rax, %%cr0
        \\mov %%cr4, %%rax
        \\or $0x600, %%rax
        \\mov %%rax, %%cr4
        ::: .{ .rax = true });
}

pub const CpuidResult = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

pub fn cpuid(leaf: u32, sub: u32) CpuidResult {
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [a] "={eax}" (eax),
          [b] "={ebx}" (ebx),
          [c] "={ecx}" (ecx),
          [d] "={edx}" (edx),
        : [leaf] "{eax}" (leaf),
          [sub] "{ecx}" (sub),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

pub inline fn readCr4() u64 {
    return asm volatile ("mov %%cr4, %[v]"
        : [v] "=r" (-> u64),
    );
}

pub inline fn writeCr4(value: u64) void {
    asm volatile ("mov %[v], %%cr4"
        :
        : [v] "r" (value),
        : .{ .memory = true });
}

/// The CPU's protections the kernel turns on, each only where CPUID offers it; printed at boot.
pub const Protections = struct {
    /// CR4.SMEP: ring 0 cannot execute user pages (a hijacked kernel jump into workload code faults).
    smep: bool = false,
    /// CR4.SMAP: ring 0 cannot touch user pages at all. The kernel never opens it with stac/clac
    /// (they kill a kvm-pvm guest in ring 0): it reaches workload memory only through its own
    /// identity map, after the page tables said the workload owns it (paging.copyFromUser).
    smap: bool = false,
    /// CR4.UMIP: sgdt, sidt, sldt, smsw and str fault in ring 3 (no kernel addresses leak).
    umip: bool = false,
    /// CR4.OSXSAVE with XCR0 = x87|SSE|AVX: AVX for ring 3 on every platform alike (kvm-pvm runs
    /// ring 3 with the host's XCR0 whatever the guest says, so switching it off is not possible
    /// there). No state to save: tasks switch only at calls, where SysV leaves no vector register
    /// live, and the kernel has no SSE/AVX code.
    avx: bool = false,
};

const cr4_umip: u64 = 1 << 11;
const cr4_osxsave: u64 = 1 << 18;
const cr4_smep: u64 = 1 << 20;
const cr4_smap: u64 = 1 << 21;
/// XCR0 bits: x87, SSE, AVX.
const xcr0_avx: u64 = 0x7;

pub fn initProtections() Protections {
    var p: Protections = .{};
    const max_leaf = cpuid(0, 0).eax;
    const l1 = cpuid(1, 0);
    if (max_leaf >= 7) {
        const l7 = cpuid(7, 0);
        p.smep = l7.ebx & (1 << 7) != 0;
        p.smap = l7.ebx & (1 << 20) != 0;
        p.umip = l7.ecx & (1 << 2) != 0;
    }
    const xsave = l1.ecx & (1 << 26) != 0;
    const avx = l1.ecx & (1 << 28) != 0;
    p.avx = xsave and avx and max_leaf >= 0xd and cpuid(0xd, 0).eax & xcr0_avx == xcr0_avx;
    var cr4 = readCr4();
    if (p.smep) cr4 |= cr4_smep;
    if (p.smap) cr4 |= cr4_smap;
    if (p.umip) cr4 |= cr4_umip;
    if (p.avx) cr4 |= cr4_osxsave;
    writeCr4(cr4);
    if (p.avx) asm volatile ("xsetbv"
        :
        : [c] "{ecx}" (@as(u32, 0)),
          [a] "{eax}" (@as(u32, @truncate(xcr0_avx))),
          [d] "{edx}" (@as(u32, 0)),
    );
    return p;
}

pub fn hasRdrand() bool {
    var ecx: u32 = undefined;
    asm volatile ("cpuid"
        : [ecx] "={ecx}" (ecx),
        : [leaf] "{eax}" (@as(u32, 1)),
          [sub] "{ecx}" (@as(u32, 0)),
        : .{ .rbx = true, .rdx = true });
    return ecx & (1 << 30) != 0;
}

/// One hardware random word, or null when the generator is exhausted (the caller retries).
pub fn rdrand() ?u64 {
    var value: u64 = undefined;
    var ok: u8 = undefined;
    asm volatile ("rdrand %[v]; setc %[ok]"
        : [v] "=r" (value),
          [ok] "=r" (ok),
    );
    return if (ok != 0) value else null;
}

/// Masks both legacy PICs so no stray IRQ lands on an exception vector (their reset base is 8).
pub fn maskLegacyPic() void {
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

/// How long the i8042 reset gets to stop the VM before the triple fault: Firecracker handles the
/// reset on its own thread while the vCPU runs on, and a triple fault first makes it exit 1.
const reset_grace_tsc_ticks: u64 = 2_000_000_000; // ~1 s at 2 GHz; any real VMM stops far sooner

/// Stops the VM: the i8042 reset line (Firecracker exits 0; QEMU exits with -no-reboot), then a
/// triple fault should no i8042 be there. Never returns.
pub fn resetVm() noreturn {
    // No wait on the controller's input buffer: emulated i8042s take the command at once, and
    // where none exists the status port reads 0xFF forever.
    outb(0x64, 0xFE);
    const start = rdtsc();
    while (rdtsc() -% start < reset_grace_tsc_ticks) asm volatile ("pause");
    const empty = DescriptorPtr{ .limit = 0, .base = 0 };
    asm volatile (
        \\lidt (%[ptr])
        \\ud2
        :
        : [ptr] "r" (&empty),
    );
    haltForever();
}
