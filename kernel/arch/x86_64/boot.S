/* Boot entries. Both reach boot_common in long mode on the kernel's own stack, GDT and page tables,
 * then call kmain(protocol, info_paddr):
 *   _start32  PVH (XEN_ELFNOTE_PHYS32_ENTRY): 32-bit protected mode, paging off, ebx -> hvm_start_info,
 *             no usable stack (Firecracker gives esp = 0).
 *   _start64  the ELF entry, used by Firecracker's Linux 64-bit boot protocol when it finds no PVH
 *             note: long mode, identity-mapped low memory, rsi -> boot_params (zero page). */

#define BOOT_PROTO_PVH    1
#define BOOT_PROTO_LINUX  2

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                 /* name size: "Xen\0" */
    .long 4                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start32
    .balign 4

    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl %ebx, boot_info_paddr
    movl $BOOT_PROTO_PVH, boot_protocol
    movl $boot_stack_top, %esp

    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $0xC0000080, %ecx          /* EFER */
    rdmsr
    orl $0x900, %eax                /* LME | NXE */
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax           /* PG | WP | PE */
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $boot_common

    .code64
    .global _start64
_start64:
    cli
    cld
    movq %rsi, boot_info_paddr(%rip)
    movl $BOOT_PROTO_LINUX, boot_protocol(%rip)
    leaq boot_stack_top(%rip), %rsp
    leaq boot_pml4(%rip), %rax
    movq %rax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x800, %eax                /* NXE (LME is already on) */
    wrmsr
    movq %cr0, %rax
    orl $0x10000, %eax              /* WP */
    movq %rax, %cr0
    lgdt boot_gdt_ptr(%rip)
    pushq $0x08
    leaq boot_common(%rip), %rax
    pushq %rax
    lretq

boot_common:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    movl boot_protocol(%rip), %edi
    movq boot_info_paddr(%rip), %rsi
    call kmain
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: kernel code, 64-bit */
    .quad 0x00CF92000000FFFF        /* 0x10: kernel data */
boot_gdt_end:
    .balign 8
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .data
    .balign 8
boot_info_paddr:
    .quad 0
boot_protocol:
    .long 0

/* Identity map of the first 4 GiB, built by the assembler so that boot runs no loop in ring 0
 * (ring-0 code is emulated one instruction at a time under kvm-pvm). User bit clear: all of it is
 * supervisor-only. 2 MiB pages, except the first 4 MiB (the kernel image), mapped with 4 KiB pages
 * so that the guard page under each kernel stack can be unmapped and the image's text made
 * read-only and its data no-execute page by page (paging.zig). Everything outside the kernel's
 * first 1-2 MiB is no-execute from the start (NXE is on before paging: both entries set it); that
 * range is executable until kmain narrows it to the text. The kernel adds the user half (PML4
 * entry 1) at run time. */
#define NX 0x8000000000000000
    .section .data.pagetables, "aw"
    .balign 4096
    .global boot_pml4
boot_pml4:
    .quad boot_pdpt + 0x3
    .fill 511, 8, 0
boot_pdpt:
    .quad boot_pd + 0x3
    .quad boot_pd + 0x1000 + 0x3
    .quad boot_pd + 0x2000 + 0x3
    .quad boot_pd + 0x3000 + 0x3
    .fill 508, 8, 0
boot_pd:
    .quad boot_pt0 + 0x3
    .quad boot_pt1 + 0x3
    .set page, 2
    .rept 2046
    .quad (page << 21) | 0x83 | NX  /* present, writable, 2 MiB, no-execute */
    .set page, page + 1
    .endr
    .global boot_pt0, boot_pt1
boot_pt0:
    .set page, 0
    .rept 256
    .quad (page << 12) | 0x3 | NX   /* below 1 MiB: boot structures, no-execute */
    .set page, page + 1
    .endr
    .rept 256
    .quad (page << 12) | 0x3        /* 1-2 MiB: the kernel image, narrowed by kmain */
    .set page, page + 1
    .endr
boot_pt1:
    .rept 512
    .quad (page << 12) | 0x3 | NX   /* 2-4 MiB: image data or free memory, no-execute */
    .set page, page + 1
    .endr

/* Kernel stacks, each above two guard pages that kmain unmaps: an overflow faults (and the double
 * fault lands on its own IST stack) instead of silently overwriting what lies below. Two pages,
 * not one: a stack probe (a frame over 4 KiB) steps rsp down a page at a time and touches just
 * above it, so with one guard page its fault could leave rsp below the guard, on mapped memory,
 * and the #PF frame would be pushed there (seen: rsp = 0x100000, the fault at 0x100010). */
    .section .bss.stacks, "aw", @nobits
    .balign 4096
    .global stack_guard_boot, stack_guard_trap, stack_guard_fault
    .global boot_stack_top, trap_stack_top, fault_stack_top
stack_guard_boot:
    .skip 8192
    .skip 65536
boot_stack_top:
stack_guard_trap:
    .skip 8192
    .skip 65536                     /* interrupts, exceptions and both gates from ring 3 */
trap_stack_top:
stack_guard_fault:
    .skip 8192
    .skip 16384                     /* double fault, NMI, machine check (IST 1) */
fault_stack_top:
