// Functions for the block translator's tests: each is translated at its entry and the
// translation is called in its place; it must compute what the original does. They cover
// backward and forward conditional branches inside a block, RIP-relative loads, stores and LEA,
// a jump table, a call (where the block must end), jumps out of the block and flags that live
// across other instructions.

        .text

// uint64_t tc_sum_loop(const uint64_t* values, uint64_t count): a loop whose back edge stays in
// the block.
        .globl tc_sum_loop
        .type tc_sum_loop, @function
tc_sum_loop:
        xor %eax, %eax
        test %rsi, %rsi
        je 2f
1:      add (%rdi), %rax
        add $8, %rdi
        dec %rsi
        jne 1b
2:      ret
        .size tc_sum_loop, .-tc_sum_loop

// uint64_t tc_rip_relative(uint64_t index): loads through RIP-relative operands, stores to a
// RIP-relative variable and reads it back, and takes a RIP-relative address with LEA.
        .globl tc_rip_relative
        .type tc_rip_relative, @function
tc_rip_relative:
        lea tc_table(%rip), %rcx
        mov (%rcx,%rdi,8), %rax
        add tc_table+8(%rip), %rax
        mov %rax, tc_variable(%rip)
        addq $1, tc_variable(%rip)
        mov tc_variable(%rip), %rax
        ret
        .size tc_rip_relative, .-tc_rip_relative

// int64_t tc_clamp(int64_t value): forward branches that join again inside the block.
        .globl tc_clamp
        .type tc_clamp, @function
tc_clamp:
        mov %rdi, %rax
        cmp $-100, %rax
        jge 1f
        mov $-100, %rax
        jmp 2f
1:      cmp $100, %rax
        jle 2f
        mov $100, %rax
2:      ret
        .size tc_clamp, .-tc_clamp

// uint64_t tc_jump_table(uint64_t index): an indirect jump ends the block; the cases run in
// place.
        .globl tc_jump_table
        .type tc_jump_table, @function
tc_jump_table:
        and $3, %edi
        lea tc_cases(%rip), %rdx
        movslq (%rdx,%rdi,4), %rax
        add %rdx, %rax
        jmp *%rax
tc_case0:
        mov $10, %eax
        ret
tc_case1:
        mov $11, %eax
        ret
tc_case2:
        mov $12, %eax
        ret
tc_case3:
        mov $13, %eax
        ret
        .size tc_jump_table, .-tc_jump_table

// uint64_t tc_calls_out(uint64_t value): the block ends before the call, which runs in place.
        .globl tc_calls_out
        .type tc_calls_out, @function
tc_calls_out:
        push %rbx
        lea 1(%rdi), %rbx
        mov %rbx, %rdi
        call tc_double
        add %rbx, %rax
        pop %rbx
        ret
        .size tc_calls_out, .-tc_calls_out

tc_double:
        lea (%rdi,%rdi), %rax
        ret

// uint64_t tc_flags_across(uint64_t a, uint64_t b): CF from the compare is live across moves
// and a LEA until the ADC that reads it; the result is 1000 + 2 * a (+1 when a < b).
        .globl tc_flags_across
        .type tc_flags_across, @function
tc_flags_across:
        cmp %rsi, %rdi
        mov %rdi, %rax
        lea 1000(%rax,%rdi), %rax
        mov $0, %ecx
        adc %rcx, %rax
        ret
        .size tc_flags_across, .-tc_flags_across

// uint64_t tc_shift_by_cl(uint64_t value, uint64_t count): a shift by CL may leave the flags
// alone (CL = 0), so the compare's ZF stays live through it.
        .globl tc_shift_by_cl
        .type tc_shift_by_cl, @function
tc_shift_by_cl:
        mov %rsi, %rcx
        cmp $7, %rdi
        shl %cl, %rdi
        mov $0, %eax
        sete %al
        ret
        .size tc_shift_by_cl, .-tc_shift_by_cl

// uint64_t tc_loop_instruction(uint64_t count): LOOP has only an 8-bit displacement; the block
// ends before it and it runs in place.
        .globl tc_loop_instruction
        .type tc_loop_instruction, @function
tc_loop_instruction:
        mov %rdi, %rcx
        xor %eax, %eax
        test %rcx, %rcx
        je 2f
1:      add $3, %rax
        loop 1b
2:      ret
        .size tc_loop_instruction, .-tc_loop_instruction

// uint64_t tc_jump_out(uint64_t value): an unconditional jump out of the block, to code that
// runs in place.
        .globl tc_jump_out
        .type tc_jump_out, @function
tc_jump_out:
        lea 5(%rdi), %rax
        jmp tc_far_away
        .size tc_jump_out, .-tc_jump_out

        .section .text.tc_far, "ax", @progbits
tc_far_away:
        imul $3, %rax, %rax
        ret

        .section .rodata
        .balign 8
tc_table:
        .quad 100, 200, 300, 400
tc_cases:
        .long tc_case0 - tc_cases, tc_case1 - tc_cases, tc_case2 - tc_cases, tc_case3 - tc_cases

        .data
        .balign 8
        .globl tc_variable
tc_variable:
        .quad 0

        .section .note.GNU-stack, "", @progbits
