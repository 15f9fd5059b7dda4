/* The density benchmark's baseline: the least an idle PVH guest can be. Prints one byte on COM1
 * (its "ready") and halts for ever with interrupts off: what the VMM costs for a guest that does
 * nothing, in memory and in CPU. */
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
1:  cli
    hlt
    jmp 1b
