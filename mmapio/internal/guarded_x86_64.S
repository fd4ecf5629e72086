// Memory accesses that may fault with SIGBUS, each between a begin and an
// end label, with a fixup label to resume at. The fault handler looks the
// faulting instruction up in mmapio_fault_table and moves the program
// counter to the fixup, as the kernel's exception tables do: no system call
// and no setjmp on the path that does not fault.

#if defined(__x86_64__)

        .text

// size_t mmapio_guarded_copy(void* dst, const void* src, size_t n)
// Returns the number of bytes NOT copied: 0, or what was left when a page
// faulted. rep movsb keeps rdi, rsi and rcx exact at a fault.
        .globl  mmapio_guarded_copy
        .hidden mmapio_guarded_copy
        .type   mmapio_guarded_copy, @function
        .p2align 4
mmapio_guarded_copy:
        .cfi_startproc
        movq    %rdx, %rcx
.Lcopy_begin:
        rep movsb
.Lcopy_end:
        xorl    %eax, %eax
        ret
.Lcopy_fixup:
        movq    %rcx, %rax
        ret
        .cfi_endproc
        .size   mmapio_guarded_copy, .-mmapio_guarded_copy

// struct { uint64_t value; uint64_t faulted; } mmapio_guarded_loadN(const void*)
// The pair comes back in rax:rdx.
.macro GUARDED_LOAD name, instruction
        .globl  \name
        .hidden \name
        .type   \name, @function
        .p2align 4
\name:
        .cfi_startproc
        xorl    %edx, %edx
.L\name\()_begin:
        \instruction
.L\name\()_end:
        ret
.L\name\()_fixup:
        xorl    %eax, %eax
        movl    $1, %edx
        ret
        .cfi_endproc
        .size   \name, .-\name
.endm

GUARDED_LOAD mmapio_guarded_load8, "movzbl (%rdi), %eax"
GUARDED_LOAD mmapio_guarded_load16, "movzwl (%rdi), %eax"
GUARDED_LOAD mmapio_guarded_load32, "movl (%rdi), %eax"
GUARDED_LOAD mmapio_guarded_load64, "movq (%rdi), %rax"

// { begin, end, fixup } for each guarded instruction.
        .section .data.rel.ro, "aw"
        .p2align 3
        .globl  mmapio_fault_table
        .hidden mmapio_fault_table
        .type   mmapio_fault_table, @object
mmapio_fault_table:
        .quad   .Lcopy_begin, .Lcopy_end, .Lcopy_fixup
        .quad   .Lmmapio_guarded_load8_begin, .Lmmapio_guarded_load8_end, .Lmmapio_guarded_load8_fixup
        .quad   .Lmmapio_guarded_load16_begin, .Lmmapio_guarded_load16_end, .Lmmapio_guarded_load16_fixup
        .quad   .Lmmapio_guarded_load32_begin, .Lmmapio_guarded_load32_end, .Lmmapio_guarded_load32_fixup
        .quad   .Lmmapio_guarded_load64_begin, .Lmmapio_guarded_load64_end, .Lmmapio_guarded_load64_fixup
        .size   mmapio_fault_table, .-mmapio_fault_table
        .globl  mmapio_fault_table_entries
        .hidden mmapio_fault_table_entries
        .type   mmapio_fault_table_entries, @object
        .p2align 3
mmapio_fault_table_entries:
        .quad   5
        .size   mmapio_fault_table_entries, 8

#endif  // __x86_64__

        .section .note.GNU-stack, "", @progbits
