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
        .globl tc_sum_loop_access
tc_sum_loop_access:
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

// uint64_t tc_jump_out(uint64_t value): an unconditional jump out of the block (backwards, so
// that it cannot be taken for the rest of the block), to code that runs in place:
// 2 * (value + 5).
        .globl tc_jump_out
        .type tc_jump_out, @function
tc_jump_out:
        lea 5(%rdi), %rdi
        jmp tc_double
        .size tc_jump_out, .-tc_jump_out

// --- For the code cache's instrumentation (instrumentation_test.cpp) ----------------------------

        .text

// uint64_t td_load_loop(const uint64_t* values, uint64_t count): MOV loads in a loop.
        .globl td_load_loop
        .type td_load_loop, @function
td_load_loop:
        xor %eax, %eax
        test %rsi, %rsi
        je 2f
        .globl td_load_loop_access
td_load_loop_access:
1:      mov (%rdi), %rdx
        add %rdx, %rax
        add $8, %rdi
        dec %rsi
        jne 1b
2:      ret
        .size td_load_loop, .-td_load_loop

// void td_store_loop(uint32_t* values, uint64_t count): values[i] = 3 * i + 1, SIB addressing.
        .globl td_store_loop
        .type td_store_loop, @function
td_store_loop:
        xor %ecx, %ecx
        test %rsi, %rsi
        je 2f
1:      lea 1(%rcx,%rcx,2), %edx
        mov %edx, (%rdi,%rcx,4)
        inc %rcx
        cmp %rsi, %rcx
        jne 1b
2:      ret
        .size td_store_loop, .-td_store_loop

// uint64_t td_widths(uint8_t* bytes): loads and stores of every width and extension.
        .globl td_widths
        .type td_widths, @function
td_widths:
        movzbl (%rdi), %eax
        movswq 2(%rdi), %rcx
        movslq 4(%rdi), %rdx
        add %rcx, %rax
        add %rdx, %rax
        movb $0x5a, 8(%rdi)
        movw $0x1234, 10(%rdi)
        movl $0x89abcdef, 12(%rdi)
        movq $-2, 16(%rdi)
        mov %al, 24(%rdi)
        mov %ax, 26(%rdi)
        mov %eax, 28(%rdi)
        mov %rax, 32(%rdi)
        mov 16(%rdi), %r11
        add %r11, %rax
        ret
        .size td_widths, .-td_widths

// uint64_t td_flags_live(uint64_t a, uint64_t b, const uint64_t* value): CF from the compare
// lives across the load: *value, plus 1000 unless a < b.
        .globl td_flags_live
        .type td_flags_live, @function
td_flags_live:
        cmp %rsi, %rdi
        mov (%rdx), %rax
        jb 1f
        add $1000, %rax
1:      ret
        .size td_flags_live, .-td_flags_live

// uint64_t td_registers(uint64_t* value): every general-purpose register holds a known value
// across a load into R8 and a store from R9; returns a bit per register that changed (bit n
// for register n), or 1 << 20 when the load read the wrong value.
        .globl td_registers
        .type td_registers, @function
td_registers:
        push %rbx
        push %rbp
        push %r12
        push %r13
        push %r14
        push %r15
        mov $0x1000, %eax
        mov $0x1001, %ecx
        mov $0x1002, %edx
        mov $0x1003, %ebx
        mov $0x1005, %ebp
        mov $0x1006, %esi
        mov $0x1009, %r9d
        mov $0x100a, %r10d
        mov $0x100b, %r11d
        mov $0x100c, %r12d
        mov $0x100d, %r13d
        mov $0x100e, %r14d
        mov $0x100f, %r15d
        mov (%rdi), %r8
        mov %r9, 8(%rdi)
        push %rdi
        xor %edi, %edi
        cmp $0x1000, %rax
        je 1f
        or $1, %edi
1:      cmp $0x1001, %rcx
        je 1f
        or $2, %edi
1:      cmp $0x1002, %rdx
        je 1f
        or $4, %edi
1:      cmp $0x1003, %rbx
        je 1f
        or $8, %edi
1:      cmp $0x1005, %rbp
        je 1f
        or $0x20, %edi
1:      cmp $0x1006, %rsi
        je 1f
        or $0x40, %edi
1:      cmp $0x4242, %r8
        je 1f
        or $0x100000, %edi
1:      cmp $0x1009, %r9
        je 1f
        or $0x200, %edi
1:      cmp $0x100a, %r10
        je 1f
        or $0x400, %edi
1:      cmp $0x100b, %r11
        je 1f
        or $0x800, %edi
1:      cmp $0x100c, %r12
        je 1f
        or $0x1000, %edi
1:      cmp $0x100d, %r13
        je 1f
        or $0x2000, %edi
1:      cmp $0x100e, %r14
        je 1f
        or $0x4000, %edi
1:      cmp $0x100f, %r15
        je 1f
        or $0x8000, %edi
1:      mov %rdi, %rax
        pop %rdi
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbp
        pop %rbx
        ret
        .size td_registers, .-td_registers

// uint64_t td_red_zone(const uint64_t* value): the red zone holds two values across the load.
        .globl td_red_zone
        .type td_red_zone, @function
td_red_zone:
        movq $0x1111, -8(%rsp)
        movq $0x2222, -128(%rsp)
        mov (%rdi), %rax
        add -8(%rsp), %rax
        add -128(%rsp), %rax
        ret
        .size td_red_zone, .-td_red_zone

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

// void tc_locked_add(uint64_t* word, uint64_t value): a locked read-modify-write, which the
// code cache leaves to the emulator.
        .text
        .globl tc_locked_add
        .type tc_locked_add, @function
tc_locked_add:
        .globl tc_locked_add_access
tc_locked_add_access:
        lock addq %rsi, (%rdi)
        ret
        .size tc_locked_add, .-tc_locked_add

        .section .note.GNU-stack, "", @progbits
