/* Every way into ring 0 after boot, and the one way out to ring 3.
 * Interrupts, exceptions and the trap gate (int3 through a DPL-3 gate) and the syscall instruction
 * all build the same TrapFrame (kernel/arch/x86_64/trap.zig) and call trapDispatch(frame). */

#define USER_CS 0x23
#define USER_SS 0x1b
#define SYSCALL_VECTOR 256
#define KERNEL_RFLAGS 0x2               /* reserved bit 1 only: IF, DF, AC, TF, NT all clear */

    .text

/* The kernel's own CPU state, established on every entry before any kernel code runs: ring 3
 * controls its rflags, and a direction flag left set makes every `rep movs`/`rep stos` in the
 * kernel run backwards (page zeroing wiped the page below, task-switch copies wrecked the kernel
 * stack). AC would open user memory to the kernel under SMAP. Interrupt gates clear only IF, TF
 * and NT, so every path loads the whole register; the stack is the kernel's by then (TSS.rsp0 or
 * the syscall stub's switch), and segment registers are not used in 64-bit mode. */
.macro ENTER_KERNEL_STATE
    pushq $KERNEL_RFLAGS
    popfq
.endm

/* When the call entered (TSC), for the calls whose time counts from the call (timer_arm's delay,
 * io_poll's timeout): read as soon as rax and rdx are saved (SAVE_GPRS stamp=1), three
 * instructions, instead of ~70 instructions later in the call (each emulated under kvm-pvm, ~1 us). */
.macro STAMP_CALL
    rdtsc
    movl %eax, gate_call_tsc(%rip)
    movl %edx, gate_call_tsc+4(%rip)
.endm

/* When the call returns (TSC), its result in the frame and all but four registers restored
 * (RESTORE_GPRS stamp=1): io_poll learns from it how long its returns take (calls.zig,
 * pollReturned); the fewer instructions after it, the closer its timer events reach ring 3 to
 * their deadlines. rax and rdx are restored from the frame next. */
.macro STAMP_RETURN
    rdtsc
    movl %eax, gate_return_tsc(%rip)
    movl %edx, gate_return_tsc+4(%rip)
.endm

.macro SAVE_GPRS stamp=0
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
.if \stamp
    STAMP_CALL
.endif
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro RESTORE_GPRS stamp=0
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
.if \stamp
    STAMP_RETURN
.endif
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
.endm

.macro ISR_NOERR n
isr_\n:
    pushq $0
    pushq $\n
    jmp isr_common
.endm

.macro ISR_ERR n
isr_\n:
    pushq $\n
    jmp isr_common
.endm

/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
.irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    ISR_NOERR \n
.endr
.irp n, 8,10,11,12,13,14,17,21,29,30
    ISR_ERR \n
.endr
.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,255
    ISR_NOERR \n
.endr

isr_common:
    ENTER_KERNEL_STATE
    SAVE_GPRS
    movq %rsp, %rdi
    call trapDispatch
    RESTORE_GPRS
    addq $16, %rsp                  /* vector, error code */
    iretq

/* The trap gate (vector 3, DPL 3): int3 from ring 3 is a call, handed straight to gate.zig's
 * gateKernelCall (fewer ring-0 instructions than through trapDispatch, each emulated under
 * kvm-pvm). An int3 in ring 0 (CS's low bits 0: a kernel bug) takes the exception path and panics. */
    .global gate_trap_entry
gate_trap_entry:
    testb $3, 8(%rsp)               /* the interrupted CS (no error code on the frame) */
    jz isr_3
    pushq $0
    pushq $3
    ENTER_KERNEL_STATE
    SAVE_GPRS stamp=1
    movq %rsp, %rdi
    call gateKernelCall
    RESTORE_GPRS stamp=1
    addq $16, %rsp                  /* vector, error code */
    iretq

    .section .rodata
    .balign 8
    .global isr_table
/* Entry points by vector for 0..47; 255 (spurious) is handled as entry 48. */
isr_table:
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr_\n
.endr
.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,255
    .quad isr_\n
.endr

    .text
/* syscall: rcx = user rip, r11 = user rflags, rsp still the user's; SFMASK has cleared IF.
 * One CPU, interrupts off: a single scratch slot for the user rsp is enough. */
    .global syscall_entry
syscall_entry:
    movq %rsp, syscall_user_rsp(%rip)
    movq trap_stack_top_ptr(%rip), %rsp
    ENTER_KERNEL_STATE                /* SFMASK already cleared these: kept for one rule */
    pushq $USER_SS
    pushq syscall_user_rsp(%rip)
    pushq %r11
    pushq $USER_CS
    pushq %rcx
    pushq $0
    pushq $SYSCALL_VECTOR
    SAVE_GPRS stamp=1
    movq %rsp, %rdi
    call gateKernelCall
    RESTORE_GPRS stamp=1
    addq $16, %rsp
    popq %rcx                       /* rip */
    addq $8, %rsp                   /* cs */
    popq %r11                       /* rflags */
    popq %rsp                       /* user rsp; interrupts stay off until sysretq */
    sysretq

/* The bare entry (#UD under zigu.test=bare-entry; cpu.zig, bareEntryOnUd): two ring-0
 * instructions. The frame is the one the CPU pushed from ring 3; iretq returns past the 2-byte ud2. */
    .global bare_entry
bare_entry:
    addq $2, (%rsp)
    iretq

/* u64 enterUser(entry_rip, user_rsp, user_rdi): saves the kernel's callee-saved registers and
 * stack, drops to ring 3 with every other register cleared. Returns the value the kernel later
 * passes to resumeKernel (workload exit, fault or probe result). */
    .global enterUser
enterUser:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, kernel_resume_rsp(%rip)
    pushq $USER_SS
    pushq %rsi
    pushq $0x202                    /* IF set, reserved bit 1 */
    pushq $USER_CS
    pushq %rdi
    movq %rdx, %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    iretq

/* noreturn resumeKernel(value): back onto the stack enterUser saved, returning value from it. */
    .global resumeKernel
resumeKernel:
    movq %rdi, %rax
    movq kernel_resume_rsp(%rip), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* The user-mapped gate stubs (vDSO-style): one is copied into the workload's info page.
 * C signature: long zigu_call(long nr, long a0, long a1, long a2, long a3, long a4).
 * The kernel sees nr in rax and arguments in rdi, rsi, rdx, r10, r8 through either gate. */
/* From the C calling convention to the kernel's registers. */
.macro GATE_ARGS
    movq %rdi, %rax
    movq %rsi, %rdi
    movq %rdx, %rsi
    movq %rcx, %rdx
    movq %r8, %r10
    movq %r9, %r8
.endm

    .section .rodata
    .global gate_syscall_start, gate_syscall_end, gate_trap_start, gate_trap_end
gate_syscall_start:
    GATE_ARGS
    syscall
    ret
gate_syscall_end:
gate_trap_start:
    GATE_ARGS
    int3
    ret
gate_trap_end:

/* The ring-3 zeroing stub, copied into the info page (layout.user_zero_offset). A mem_map that
 * hands out recycled memory returns through it instead of straight to the caller (gate.zig,
 * zeroOnReturn): rdi = start, rdx = qwords, rsi = the call's result, r8 = where the call returns.
 * Ring 3 runs natively under kvm-pvm, where a ring-0 `rep stosq` is emulated (2 MiB: ~0.25 s).
 * Only registers SysV lets a call clobber are used, and no stack: the caller's red zone is safe.
 * The direction flag is cleared, as SysV has it at every call and return. */
    .global user_zero_start, user_zero_end
user_zero_start:
    cld
    xorl %eax, %eax
    movq %rdx, %rcx
    rep stosq
    movq %rsi, %rax
    xorl %edx, %edx
    jmpq *%r8
user_zero_end:

    .section .data
    .balign 8
    .global trap_stack_top_ptr
trap_stack_top_ptr:
    .quad 0
syscall_user_rsp:
    .quad 0
kernel_resume_rsp:
    .quad 0

/* Stack probing for frames larger than a page (the kernel is built with stack_check, and has no
 * compiler_rt to supply this): touches every page of a new frame from the top down, so a frame
 * bigger than the guard page still faults on the guard instead of writing past it (a 68 KiB Debug
 * frame once overwrote the page tables below the boot stack). rax = frame size; all registers kept.
 * Same algorithm as Zig's compiler_rt __zig_probe_stack. */
    .text
    .global __zig_probe_stack
__zig_probe_stack:
    pushq %rcx
    movq %rax, %rcx
    cmpq $0x1000, %rcx
    jb 2f
1:  subq $0x1000, %rsp
    orl $0, 16(%rsp)
    subq $0x1000, %rcx
    cmpq $0x1000, %rcx
    ja 1b
2:  subq %rcx, %rsp
    orl $0, 16(%rsp)
    addq %rax, %rsp
    popq %rcx
    ret
