/* The boot benchmark's baseline: the least a PVH guest can do. Prints one byte on COM1 and resets
 * the VM through the i8042, the same way out as the kernel. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 4, 18
    .asciz "Xen"
    .long _start32
    .balign 4

    .text
    .code32
    .global _start32
_start32:
    movw $0x3f8, %dx
    movb $'Z', %al
    outb %al, %dx
    movb $'\n', %al
    outb %al, %dx
    movb $0xFE, %al
    outb %al, $0x64
1:  cli
    hlt
    jmp 1b
