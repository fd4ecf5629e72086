// guarded_x86_64.S for Windows x64 (COFF, the Microsoft x64 calling
// convention): the same accesses between begin and end labels, with a fixup
// label each, listed in mmapio_fault_table for the vectored exception
// handler of fault_windows.cc.
//
// What the convention changes: arguments arrive in rcx, rdx, r8; rdi and
// rsi belong to the caller, so the copy saves them (with unwind data, so
// that an exception that is not ours can still walk the stack); a 16-byte
// struct is returned through a pointer the caller passes in rcx, which
// moves the loads' source to rdx.

        .text

// size_t mmapio_guarded_copy(void* dst, const void* src, size_t n)
// Returns the number of bytes NOT copied: 0, or what was left when a page
// faulted. The AVX2 blocks and rep movsb tail work as on Linux.
        .globl  mmapio_guarded_copy
        .def    mmapio_guarded_copy; .scl 2; .type 32; .endef
        .p2align 4
        .seh_proc mmapio_guarded_copy
mmapio_guarded_copy:
        pushq   %rdi
        .seh_pushreg %rdi
        pushq   %rsi
        .seh_pushreg %rsi
        .seh_endprologue
        movq    %rcx, %rdi
        movq    %rdx, %rsi
        movq    %r8, %rcx
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
        popq    %rsi
        popq    %rdi
        ret
.Lcopy_fixup:
        movq    %rcx, %rax
        popq    %rsi
        popq    %rdi
        ret
        .seh_endproc

// LoadResult mmapio_guarded_loadN(const void* source): rcx points at the
// caller's LoadResult { uint64_t value; uint64_t faulted; }, rdx is the
// source; rax returns rcx.
.macro GUARDED_LOAD name, instruction
        .globl  \name
        .def    \name; .scl 2; .type 32; .endef
        .p2align 4
\name:
        movq    %rcx, %rax
        movq    $0, 8(%rcx)
.L\name\()_begin:
        \instruction
.L\name\()_end:
        movq    %r8, (%rax)
        ret
.L\name\()_fixup:
        movq    $0, (%rax)
        movq    $1, 8(%rax)
        ret
.endm

GUARDED_LOAD mmapio_guarded_load8, "movzbl (%rdx), %r8d"
GUARDED_LOAD mmapio_guarded_load16, "movzwl (%rdx), %r8d"
GUARDED_LOAD mmapio_guarded_load32, "movl (%rdx), %r8d"
GUARDED_LOAD mmapio_guarded_load64, "movq (%rdx), %r8"

// { begin, end, fixup, copies } for each guarded instruction, as on Linux.
        .section .rdata, "dr"
        .p2align 3
        .globl  mmapio_fault_table
mmapio_fault_table:
        .quad   .Lblock_begin, .Lblock_end, .Lblock_fixup, 1
        .quad   .Lcopy_begin, .Lcopy_end, .Lcopy_fixup, 1
        .quad   .Lmmapio_guarded_load8_begin, .Lmmapio_guarded_load8_end, .Lmmapio_guarded_load8_fixup, 0
        .quad   .Lmmapio_guarded_load16_begin, .Lmmapio_guarded_load16_end, .Lmmapio_guarded_load16_fixup, 0
        .quad   .Lmmapio_guarded_load32_begin, .Lmmapio_guarded_load32_end, .Lmmapio_guarded_load32_fixup, 0
        .quad   .Lmmapio_guarded_load64_begin, .Lmmapio_guarded_load64_end, .Lmmapio_guarded_load64_fixup, 0
        .globl  mmapio_fault_table_entries
        .p2align 3
mmapio_fault_table_entries:
        .quad   6

// Set at load time by fault_windows.cc when the CPU has AVX2.
        .data
        .globl  mmapio_copy_has_avx2
mmapio_copy_has_avx2:
        .byte   0
