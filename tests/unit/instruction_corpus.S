// The instruction corpus of the emulator's differential test: each snippet is one instruction
// (sometimes with an untraced helper instruction) whose memory operand is based on RDI (and
// RSI for string sources), followed by ret. run_snippet() runs a snippet on a full register,
// flag and vector state; emulator_differential_test.cpp runs each on traced and untraced
// memory and compares everything.
//
// Snippet flags: 1 operand must be 16-byte aligned, 2 needs AVX2, 4 needs AVX-512BW,
// 8 needs MOVDIRI/MOVDIR64B, 16 operand must be 32-byte aligned, 32 operand must be 64-byte
// aligned, 64 uses RCX as a small count. RSI points at untraced, 64-byte aligned memory.

        .text

// struct SnippetState { uint64_t gpr[16]; uint64_t rflags; uint8_t ymm[16][32]; uint64_t k1; }
// void run_snippet(SnippetState* state, void (*snippet)(void))
        .globl run_snippet
        .type run_snippet, @function
run_snippet:
        push %rbx
        push %rbp
        push %r12
        push %r13
        push %r14
        push %r15
        mov %rdi, state_pointer(%rip)
        mov %rsi, snippet_pointer(%rip)
        vmovdqu 136+32*0(%rdi), %ymm0
        vmovdqu 136+32*1(%rdi), %ymm1
        vmovdqu 136+32*2(%rdi), %ymm2
        vmovdqu 136+32*3(%rdi), %ymm3
        vmovdqu 136+32*4(%rdi), %ymm4
        vmovdqu 136+32*5(%rdi), %ymm5
        vmovdqu 136+32*6(%rdi), %ymm6
        vmovdqu 136+32*7(%rdi), %ymm7
        vmovdqu 136+32*8(%rdi), %ymm8
        vmovdqu 136+32*9(%rdi), %ymm9
        vmovdqu 136+32*10(%rdi), %ymm10
        vmovdqu 136+32*11(%rdi), %ymm11
        vmovdqu 136+32*12(%rdi), %ymm12
        vmovdqu 136+32*13(%rdi), %ymm13
        vmovdqu 136+32*14(%rdi), %ymm14
        vmovdqu 136+32*15(%rdi), %ymm15
        cmpb $0, use_mask_register(%rip)
        je 1f
        kmovq 648(%rdi), %k1
1:      pushq 128(%rdi)
        popfq
        mov 0*8(%rdi), %rax
        mov 1*8(%rdi), %rcx
        mov 2*8(%rdi), %rdx
        mov 3*8(%rdi), %rbx
        mov 5*8(%rdi), %rbp
        mov 6*8(%rdi), %rsi
        mov 8*8(%rdi), %r8
        mov 9*8(%rdi), %r9
        mov 10*8(%rdi), %r10
        mov 11*8(%rdi), %r11
        mov 12*8(%rdi), %r12
        mov 13*8(%rdi), %r13
        mov 14*8(%rdi), %r14
        mov 15*8(%rdi), %r15
        mov 7*8(%rdi), %rdi
        call *snippet_pointer(%rip)
        mov %rdi, saved_rdi(%rip)
        mov state_pointer(%rip), %rdi
        mov %rax, 0*8(%rdi)
        mov %rcx, 1*8(%rdi)
        mov %rdx, 2*8(%rdi)
        mov %rbx, 3*8(%rdi)
        mov %rbp, 5*8(%rdi)
        mov %rsi, 6*8(%rdi)
        mov %r8, 8*8(%rdi)
        mov %r9, 9*8(%rdi)
        mov %r10, 10*8(%rdi)
        mov %r11, 11*8(%rdi)
        mov %r12, 12*8(%rdi)
        mov %r13, 13*8(%rdi)
        mov %r14, 14*8(%rdi)
        mov %r15, 15*8(%rdi)
        mov saved_rdi(%rip), %rax
        mov %rax, 7*8(%rdi)
        pushfq
        popq 128(%rdi)
        vmovdqu %ymm0, 136+32*0(%rdi)
        vmovdqu %ymm1, 136+32*1(%rdi)
        vmovdqu %ymm2, 136+32*2(%rdi)
        vmovdqu %ymm3, 136+32*3(%rdi)
        vmovdqu %ymm4, 136+32*4(%rdi)
        vmovdqu %ymm5, 136+32*5(%rdi)
        vmovdqu %ymm6, 136+32*6(%rdi)
        vmovdqu %ymm7, 136+32*7(%rdi)
        vmovdqu %ymm8, 136+32*8(%rdi)
        vmovdqu %ymm9, 136+32*9(%rdi)
        vmovdqu %ymm10, 136+32*10(%rdi)
        vmovdqu %ymm11, 136+32*11(%rdi)
        vmovdqu %ymm12, 136+32*12(%rdi)
        vmovdqu %ymm13, 136+32*13(%rdi)
        vmovdqu %ymm14, 136+32*14(%rdi)
        vmovdqu %ymm15, 136+32*15(%rdi)
        cmpb $0, use_mask_register(%rip)
        je 1f
        kmovq %k1, 648(%rdi)
1:      vzeroupper
        cld
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbp
        pop %rbx
        ret
        .size run_snippet, . - run_snippet

        .data
        .globl use_mask_register
use_mask_register: .byte 0
        .balign 8
state_pointer: .quad 0
snippet_pointer: .quad 0
saved_rdi: .quad 0

// The table: { const char* name; void (*snippet)(void); uint64_t flags; }, ended by a null name.
        .section .data.rel.ro, "aw"
        .balign 8
        .globl instruction_corpus
instruction_corpus:


// SNIPPET flags, "instruction"[, "instruction"...]: up to four instructions, each quoted.
.macro SNIPPET flags:req, a:req, b, c, d
        .text
1:      \a
        .ifnb \b
        \b
        .endif
        .ifnb \c
        \c
        .endif
        .ifnb \d
        \d
        .endif
        ret
        .section .rodata.str1.1, "aMS", @progbits, 1
2:      .ascii "\a"
        .ifnb \b
        .ascii "; \b"
        .endif
        .ifnb \c
        .ascii "; \c"
        .endif
        .ifnb \d
        .ascii "; \d"
        .endif
        .byte 0
        .section .data.rel.ro, "aw"
        .quad 2b, 1b, \flags
        .text
.endm

// MOV family
        SNIPPET 0, "movb (%rdi), %al"
        SNIPPET 0, "movw (%rdi), %ax"
        SNIPPET 0, "movl (%rdi), %eax"
        SNIPPET 0, "movq (%rdi), %rax"
        SNIPPET 0, "movb %bl, (%rdi)"
        SNIPPET 0, "movw %bx, (%rdi)"
        SNIPPET 0, "movl %ebx, (%rdi)"
        SNIPPET 0, "movq %rbx, (%rdi)"
        SNIPPET 0, "movb %ah, (%rdi)"
        SNIPPET 0, "movb (%rdi), %bh"
        SNIPPET 0, "movb $0x5a, (%rdi)"
        SNIPPET 0, "movw $0x1234, 2(%rdi)"
        SNIPPET 0, "movl $-5, 4(%rdi)"
        SNIPPET 0, "movq $-7, 8(%rdi)"
        SNIPPET 0, "movl %ecx, 0x40(%rdi,%rdx,4)"
        SNIPPET 0, "movzbl (%rdi), %eax"
        SNIPPET 0, "movzwl (%rdi), %eax"
        SNIPPET 0, "movzbq (%rdi), %rax"
        SNIPPET 0, "movsbl (%rdi), %eax"
        SNIPPET 0, "movswq (%rdi), %rax"
        SNIPPET 0, "movslq (%rdi), %rax"
        SNIPPET 0, "movbe (%rdi), %eax"
        SNIPPET 0, "movbe (%rdi), %rax"
        SNIPPET 0, "movbe %bx, (%rdi)"
        SNIPPET 0, "movbe %rbx, (%rdi)"
        SNIPPET 0, "movnti %ebx, (%rdi)"
        SNIPPET 0, "movnti %rbx, (%rdi)"
// ALU with a memory destination or source, all widths
        SNIPPET 0, "addb %bl, (%rdi)"
        SNIPPET 0, "addw %bx, (%rdi)"
        SNIPPET 0, "addl %ebx, (%rdi)"
        SNIPPET 0, "addq %rbx, (%rdi)"
        SNIPPET 0, "addq (%rdi), %rbx"
        SNIPPET 0, "addl $7, (%rdi)"
        SNIPPET 0, "addq $0x12345678, (%rdi)"
        SNIPPET 0, "adcb %bl, (%rdi)"
        SNIPPET 0, "adcl %ebx, (%rdi)"
        SNIPPET 0, "adcq (%rdi), %rbx"
        SNIPPET 0, "subw %bx, (%rdi)"
        SNIPPET 0, "subl (%rdi), %ebx"
        SNIPPET 0, "sbbq %rbx, (%rdi)"
        SNIPPET 0, "sbbb $3, (%rdi)"
        SNIPPET 0, "andl %ebx, (%rdi)"
        SNIPPET 0, "andq (%rdi), %rbx"
        SNIPPET 0, "orb %bl, (%rdi)"
        SNIPPET 0, "orw $0x8001, (%rdi)"
        SNIPPET 0, "xorq %rbx, (%rdi)"
        SNIPPET 0, "xorl (%rdi), %ebx"
        SNIPPET 0, "cmpb %bl, (%rdi)"
        SNIPPET 0, "cmpl $0, (%rdi)"
        SNIPPET 0, "cmpq (%rdi), %rbx"
        SNIPPET 0, "cmpb $0, -1(%rdi)"
        SNIPPET 0, "testb %bl, (%rdi)"
        SNIPPET 0, "testl $0x80000001, (%rdi)"
        SNIPPET 0, "testq %rbx, (%rdi)"
        SNIPPET 0, "incb (%rdi)"
        SNIPPET 0, "incl (%rdi)"
        SNIPPET 0, "decw (%rdi)"
        SNIPPET 0, "decq (%rdi)"
        SNIPPET 0, "negb (%rdi)"
        SNIPPET 0, "negq (%rdi)"
        SNIPPET 0, "notw (%rdi)"
        SNIPPET 0, "notl (%rdi)"
// Shifts and rotates
        SNIPPET 0, "shlb (%rdi)"
        SNIPPET 0, "shll $3, (%rdi)"
        SNIPPET 0, "shlq %cl, (%rdi)"
        SNIPPET 0, "shrw $1, (%rdi)"
        SNIPPET 0, "shrl %cl, (%rdi)"
        SNIPPET 0, "sarb $2, (%rdi)"
        SNIPPET 0, "sarq %cl, (%rdi)"
        SNIPPET 0, "rolw $5, (%rdi)"
        SNIPPET 0, "roll %cl, (%rdi)"
        SNIPPET 0, "rorq $9, (%rdi)"
        SNIPPET 0, "rorb %cl, (%rdi)"
        SNIPPET 0, "rclb $1, (%rdi)"
        SNIPPET 0, "rcll %cl, (%rdi)"
        SNIPPET 0, "rcrq $3, (%rdi)"
        SNIPPET 0, "shldl $4, %ebx, (%rdi)"
        SNIPPET 0, "shrdq %cl, %rbx, (%rdi)"
// Multiplication (division needs a safe divisor, see below)
        SNIPPET 0, "mulb (%rdi)"
        SNIPPET 0, "mull (%rdi)"
        SNIPPET 0, "imulq (%rdi)"
        SNIPPET 0, "imulw (%rdi), %bx"
        SNIPPET 0, "imull $-3, (%rdi), %ebx"
        SNIPPET 0, "orl $1, (%rdi)", "xorl %edx, %edx", "movl $1000, %eax", "divl (%rdi)"
        SNIPPET 0, "orq $1, (%rdi)", "xorl %edx, %edx", "movq $-1, %rax", "divq (%rdi)"
// Locked read-modify-writes and exchanges
        SNIPPET 0, "lock addl %ebx, (%rdi)"
        SNIPPET 0, "lock incq (%rdi)"
        SNIPPET 0, "lock decb (%rdi)"
        SNIPPET 0, "lock orw %bx, (%rdi)"
        SNIPPET 0, "lock andq %rbx, (%rdi)"
        SNIPPET 0, "lock xorl $0x55, (%rdi)"
        SNIPPET 0, "lock subq $9, (%rdi)"
        SNIPPET 0, "lock notl (%rdi)"
        SNIPPET 0, "lock negw (%rdi)"
        SNIPPET 0, "andl $255, %ebx", "lock btsl %ebx, (%rdi)"
        SNIPPET 0, "lock btrq $13, (%rdi)"
        SNIPPET 0, "xchgb %bl, (%rdi)"
        SNIPPET 0, "xchgl %ebx, (%rdi)"
        SNIPPET 0, "xchgq %rbx, (%rdi)"
        SNIPPET 0, "xaddl %ebx, (%rdi)"
        SNIPPET 0, "lock xaddq %rbx, (%rdi)"
        SNIPPET 0, "cmpxchgl %ebx, (%rdi)"
        SNIPPET 0, "movl (%rdi), %eax", "lock cmpxchgl %ebx, (%rdi)"
        SNIPPET 0, "lock cmpxchgq %rbx, (%rdi)"
        SNIPPET 0, "lock cmpxchgb %bl, (%rdi)"
        SNIPPET 0, "lock cmpxchg8b (%rdi)"
        SNIPPET 0, "movq (%rdi), %rax", "movq 8(%rdi), %rdx", "lock cmpxchg8b (%rdi)"
        SNIPPET 1, "lock cmpxchg16b (%rdi)"
        SNIPPET 1, "movq (%rdi), %rax", "movq 8(%rdi), %rdx", "lock cmpxchg16b (%rdi)"
// Bit tests, with immediate and register offsets (also outside the operand)
        SNIPPET 0, "btl $5, (%rdi)"
        SNIPPET 0, "andq $63, %rbx", "btsq %rbx, (%rdi)"
        SNIPPET 0, "andl $255, %ebx", "btrl %ebx, (%rdi)"
        SNIPPET 0, "andl $1023, %ebx", "subl $300, %ebx", "btcl %ebx, 512(%rdi)"
        SNIPPET 0, "andw $127, %bx", "btw %bx, (%rdi)"
// SETcc and CMOVcc
        SNIPPET 0, "sete (%rdi)"
        SNIPPET 0, "setne (%rdi)"
        SNIPPET 0, "setb (%rdi)"
        SNIPPET 0, "seta (%rdi)"
        SNIPPET 0, "setl (%rdi)"
        SNIPPET 0, "setg (%rdi)"
        SNIPPET 0, "sets (%rdi)"
        SNIPPET 0, "setp (%rdi)"
        SNIPPET 0, "seto (%rdi)"
        SNIPPET 0, "cmovel (%rdi), %ebx"
        SNIPPET 0, "cmovneq (%rdi), %rbx"
        SNIPPET 0, "cmovbw (%rdi), %bx"
        SNIPPET 0, "cmovgl (%rdi), %ebx"
// PUSH and POP with a memory operand
        SNIPPET 0, "pushq (%rdi)", "popq %rbx"
        SNIPPET 0, "pushw (%rdi)", "popw %bx"
        SNIPPET 0, "pushq %rbx", "popq (%rdi)"
        SNIPPET 0, "pushq %rbx", "popq 8(%rdi)"
// String instructions, every width, with and without REP, both directions
        SNIPPET 0, "lodsb"
        SNIPPET 0, "lodsw"
        SNIPPET 0, "lodsl"
        SNIPPET 0, "lodsq"
        SNIPPET 0, "stosb"
        SNIPPET 0, "stosw"
        SNIPPET 0, "stosl"
        SNIPPET 0, "stosq"
        SNIPPET 0, "movsb"
        SNIPPET 0, "movsq"
        SNIPPET 0, "cmpsb"
        SNIPPET 0, "cmpsl"
        SNIPPET 0, "scasw"
        SNIPPET 0, "scasq"
        SNIPPET 64, "rep stosb"
        SNIPPET 64, "rep stosw"
        SNIPPET 64, "rep stosl"
        SNIPPET 64, "rep stosq"
        SNIPPET 64, "rep lodsb"
        SNIPPET 64, "rep lodsw"
        SNIPPET 64, "rep lodsl"
        SNIPPET 64, "rep lodsq"
        SNIPPET 64, "rep movsb"
        SNIPPET 64, "rep movsw"
        SNIPPET 64, "rep movsl"
        SNIPPET 64, "rep movsq"
        SNIPPET 64, "repe cmpsb"
        SNIPPET 64, "repne cmpsw"
        SNIPPET 64, "repe cmpsl"
        SNIPPET 64, "repe cmpsq"
        SNIPPET 64, "repne scasb"
        SNIPPET 64, "repe scasl"
        SNIPPET 64, "repne scasw"
        SNIPPET 64, "repe scasq"
        SNIPPET 64, "std", "rep movsb", "cld"
        SNIPPET 64, "std", "rep stosl", "cld"
        SNIPPET 64, "std", "repne scasb", "cld"
        SNIPPET 64, "xchgq %rsi, %rdi", "rep movsb", "xchgq %rsi, %rdi"
        SNIPPET 64, "xchgq %rsi, %rdi", "rep movsq", "xchgq %rsi, %rdi"
        SNIPPET 64, "xchgq %rsi, %rdi", "repe cmpsb", "xchgq %rsi, %rdi"
// SSE, SSE2, SSE4
        SNIPPET 0, "movdqu (%rdi), %xmm3"
        SNIPPET 0, "movdqu %xmm3, (%rdi)"
        SNIPPET 1, "movdqa (%rdi), %xmm4"
        SNIPPET 1, "movdqa %xmm4, (%rdi)"
        SNIPPET 0, "movups (%rdi), %xmm5"
        SNIPPET 1, "movaps %xmm5, (%rdi)"
        SNIPPET 0, "movd (%rdi), %xmm6"
        SNIPPET 0, "movd %xmm6, (%rdi)"
        SNIPPET 0, "movq (%rdi), %xmm7"
        SNIPPET 0, "movq %xmm7, (%rdi)"
        SNIPPET 0, "movss (%rdi), %xmm8"
        SNIPPET 0, "movsd %xmm8, (%rdi)"
        SNIPPET 0, "movhps (%rdi), %xmm9"
        SNIPPET 0, "movlps %xmm9, (%rdi)"
        SNIPPET 1, "paddd (%rdi), %xmm1"
        SNIPPET 1, "pcmpeqb (%rdi), %xmm2"
        SNIPPET 1, "pminub (%rdi), %xmm2"
        SNIPPET 1, "pxor (%rdi), %xmm10"
        SNIPPET 1, "addps (%rdi), %xmm11"
        SNIPPET 0, "mulsd (%rdi), %xmm12"
        SNIPPET 0, "pinsrb $3, (%rdi), %xmm13"
        SNIPPET 0, "pextrd $2, %xmm13, (%rdi)"
        SNIPPET 1, "ptest (%rdi), %xmm14"
        SNIPPET 0, "pmovzxbw (%rdi), %xmm15"
        SNIPPET 1, "movntdq %xmm1, (%rdi)"
        SNIPPET 1, "movntps %xmm2, (%rdi)"
        SNIPPET 0, "cvtsi2sdl (%rdi), %xmm0"
// AVX and AVX2
        SNIPPET 2, "vmovdqu (%rdi), %ymm1"
        SNIPPET 2, "vmovdqu %ymm1, (%rdi)"
        SNIPPET 18, "vmovdqa %ymm2, (%rdi)"
        SNIPPET 18, "vmovdqa (%rdi), %ymm2"
        SNIPPET 2, "vmovdqu (%rdi), %xmm3"
        SNIPPET 2, "vmovups %ymm4, (%rdi)"
        SNIPPET 2, "vpcmpeqb (%rdi), %ymm2, %ymm3"
        SNIPPET 2, "vpminub (%rdi), %ymm5, %ymm6"
        SNIPPET 2, "vpor (%rdi), %ymm7, %ymm8"
        SNIPPET 2, "vpxor (%rdi), %ymm9, %ymm9"
        SNIPPET 2, "vpbroadcastb (%rdi), %ymm10"
        SNIPPET 2, "vbroadcastss (%rdi), %ymm11"
        SNIPPET 2, "vmovq (%rdi), %xmm12"
        SNIPPET 2, "vmovd %xmm12, (%rdi)"
        SNIPPET 2, "vmaskmovps (%rdi), %ymm1, %ymm13"
        SNIPPET 2, "vmaskmovps %ymm2, %ymm1, (%rdi)"
        SNIPPET 2, "vpmaskmovd %xmm2, %xmm3, (%rdi)"
        SNIPPET 18, "vmovntdq %ymm5, (%rdi)"
        SNIPPET 2, "vpaddq (%rdi), %ymm14, %ymm15"
        SNIPPET 2, "vptest (%rdi), %ymm0"
// x87
        SNIPPET 0, "flds (%rdi)", "fstpl 8(%rdi)"
        SNIPPET 0, "fildl (%rdi)", "fistpl 4(%rdi)"
        SNIPPET 0, "fldl (%rdi)", "faddl (%rdi)", "fstpl (%rdi)"
// AVX-512
        SNIPPET 4, "vmovdqu64 (%rdi), %zmm1"
        SNIPPET 4, "vmovdqu8 %ymm2, (%rdi){%k1}"
        SNIPPET 4, "vmovdqu32 (%rdi), %zmm3{%k1}{z}"
        SNIPPET 4, "vpcmpeqb (%rdi), %ymm4, %k1"
// Direct stores
        SNIPPET 8, "movdiri %ebx, (%rdi)"
        SNIPPET 8, "movdiri %rbx, (%rdi)"
        SNIPPET 40, "movdir64b (%rsi), %rdi"
        SNIPPET 8, "movdir64b (%rdi), %rsi"

        .section .data.rel.ro, "aw"
        .quad 0, 0, 0
        .section .note.GNU-stack,"",@progbits
