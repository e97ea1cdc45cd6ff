// Test helpers that call a function with every register the flush thunk must keep set to known
// values, and record them afterwards: the vector registers, the AVX-512 masks, the x87 stack,
// its control word and MXCSR. The layout is struct VectorState in the tests that use them.
//
// uint64_t vs_call_keeping_zmm(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b,
//                              const VectorState* in, VectorState* out): zmm0-31 and k0-7
// uint64_t vs_call_keeping_ymm(...): ymm0-15, for CPUs without AVX-512
//
// VectorState: 32 vector registers of 64 bytes (offset 0), 8 masks of 8 bytes (2048), 8 x87
// registers of 16 bytes, st(0) first (2112), MXCSR (2240), the x87 control word (2244).

#define VS_K 2048
#define VS_ST 2112
#define VS_MXCSR 2240
#define VS_FCW 2244

        .text

.macro vs_prologue
        push %rbp
        mov %rsp, %rbp
        push %rbx
        push %r12
        push %r13
        sub $8, %rsp              // 16-byte aligned at the call
        mov %rdi, %rbx
        mov %rcx, %r12
        mov %r8, %r13
        ldmxcsr VS_MXCSR(%r12)
        fninit                    // an empty x87 stack for the eight values
        fldcw VS_FCW(%r12)
        .irp i, 7, 6, 5, 4, 3, 2, 1, 0
        fldt VS_ST+16*\i(%r12)
        .endr
.endm

.macro vs_epilogue
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7
        fstpt VS_ST+16*\i(%r13)
        .endr
        stmxcsr VS_MXCSR(%r13)
        fnstcw VS_FCW(%r13)
        mov %rbx, %rax
        lea -24(%rbp), %rsp
        pop %r13
        pop %r12
        pop %rbx
        pop %rbp
.endm

        .globl vs_call_keeping_zmm
        .type vs_call_keeping_zmm, @function
vs_call_keeping_zmm:
        vs_prologue
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        vmovdqu64 64*\i(%r12), %zmm\i
        .endr
        .irp i, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        vmovdqu64 64*\i(%r12), %zmm\i
        .endr
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7
        kmovq VS_K+8*\i(%r12), %k\i
        .endr
        mov %rsi, %rdi
        mov %rdx, %rsi
        call *%rbx
        mov %rax, %rbx
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        vmovdqu64 %zmm\i, 64*\i(%r13)
        .endr
        .irp i, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        vmovdqu64 %zmm\i, 64*\i(%r13)
        .endr
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7
        kmovq %k\i, VS_K+8*\i(%r13)
        .endr
        vzeroupper
        vs_epilogue
        ret
        .size vs_call_keeping_zmm, .-vs_call_keeping_zmm

        .globl vs_call_keeping_ymm
        .type vs_call_keeping_ymm, @function
vs_call_keeping_ymm:
        vs_prologue
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        vmovdqu 64*\i(%r12), %ymm\i
        .endr
        mov %rsi, %rdi
        mov %rdx, %rsi
        call *%rbx
        mov %rax, %rbx
        .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        vmovdqu %ymm\i, 64*\i(%r13)
        .endr
        vzeroupper
        vs_epilogue
        ret
        .size vs_call_keeping_ymm, .-vs_call_keeping_ymm

        .section .note.GNU-stack, "", @progbits
