// Memory accesses that may fault with SIGBUS, each between a begin and an
// end label, with a fixup label to resume at. The fault handler looks the
// faulting instruction up in mmapio_fault_table and moves the program
// counter to the fixup, as the kernel's exception tables do: no system call
// and no setjmp on the path that does not fault.

#if defined(__x86_64__)

        .text

// size_t mmapio_guarded_copy(void* dst, const void* src, size_t n)
// Returns the number of bytes NOT copied: 0, or what was left when a page
// faulted. Where the CPU has AVX2, 128-byte blocks go through ymm registers
// (faster than rep movsb for page-sized copies on current cores); rsi, rdi
// and rcx advance only once a whole block is stored, so a fault inside a
// block resumes at the block's start in rep movsb, which copies up to the
// exact faulting byte and keeps rdi, rsi and rcx exact when it faults in
// turn.
        .globl  mmapio_guarded_copy
        .hidden mmapio_guarded_copy
        .type   mmapio_guarded_copy, @function
        .p2align 4
mmapio_guarded_copy:
        .cfi_startproc
        movq    %rdx, %rcx
        cmpq    $128, %rcx
        jb      .Lcopy_tail
        cmpb    $0, mmapio_copy_has_avx2(%rip)
        je      .Lcopy_tail
        .p2align 4
.Lblock_begin:
        vmovdqu (%rsi), %ymm0
        vmovdqu 32(%rsi), %ymm1
        vmovdqu 64(%rsi), %ymm2
        vmovdqu 96(%rsi), %ymm3
        vmovdqu %ymm0, (%rdi)
        vmovdqu %ymm1, 32(%rdi)
        vmovdqu %ymm2, 64(%rdi)
        vmovdqu %ymm3, 96(%rdi)
.Lblock_end:
        addq    $128, %rsi
        addq    $128, %rdi
        subq    $128, %rcx
        cmpq    $128, %rcx
        jae     .Lblock_begin
.Lblock_fixup:
        vzeroupper
.Lcopy_tail:
        testq   %rcx, %rcx
        jz      .Lcopy_done
.Lcopy_begin:
        rep movsb
.Lcopy_end:
.Lcopy_done:
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

// { begin, end, fixup, copies } for each guarded instruction. A load's only
// access is the mapping it guards; a copy (copies = 1) touches two buffers,
// and the handler checks the fault's address against the mapped one.
        .section .data.rel.ro, "aw"
        .p2align 3
        .globl  mmapio_fault_table
        .hidden mmapio_fault_table
        .type   mmapio_fault_table, @object
mmapio_fault_table:
        .quad   .Lblock_begin, .Lblock_end, .Lblock_fixup, 1
        .quad   .Lcopy_begin, .Lcopy_end, .Lcopy_fixup, 1
        .quad   .Lmmapio_guarded_load8_begin, .Lmmapio_guarded_load8_end, .Lmmapio_guarded_load8_fixup, 0
        .quad   .Lmmapio_guarded_load16_begin, .Lmmapio_guarded_load16_end, .Lmmapio_guarded_load16_fixup, 0
        .quad   .Lmmapio_guarded_load32_begin, .Lmmapio_guarded_load32_end, .Lmmapio_guarded_load32_fixup, 0
        .quad   .Lmmapio_guarded_load64_begin, .Lmmapio_guarded_load64_end, .Lmmapio_guarded_load64_fixup, 0
        .size   mmapio_fault_table, .-mmapio_fault_table
        .globl  mmapio_fault_table_entries
        .hidden mmapio_fault_table_entries
        .type   mmapio_fault_table_entries, @object
        .p2align 3
mmapio_fault_table_entries:
        .quad   6
        .size   mmapio_fault_table_entries, 8

// Set at load time by fault_linux.cc when the CPU has AVX2.
        .data
        .globl  mmapio_copy_has_avx2
        .hidden mmapio_copy_has_avx2
        .type   mmapio_copy_has_avx2, @object
mmapio_copy_has_avx2:
        .byte   0
        .size   mmapio_copy_has_avx2, 1

#endif  // __x86_64__

        .section .note.GNU-stack, "", @progbits
