// mmiotrace: signal-safe
// mmiotrace_access_log_flush_thunk (declared in access_log.hpp): called by translated code when
// its thread's access log is full, and when it leaves the code cache. Saves every general-purpose
// register and the flags, and calls the vector-free flush (cmake/mmiotrace_options.cmake), which
// leaves every other register alone. When that could not do everything (records for probes with
// handlers of their own, a program signal held meanwhile), or in builds without it, saves the
// x87/SSE/AVX/AVX-512 state too (XSAVE: the translator runs only on CPUs that have it; it costs
// more than 100 ns) and calls mmiotrace_access_log_flush_from_thunk() for the rest. Restores
// everything.

        .text
        .globl mmiotrace_access_log_flush_thunk
        .hidden mmiotrace_access_log_flush_thunk
        .type mmiotrace_access_log_flush_thunk, @function
mmiotrace_access_log_flush_thunk:
        pushfq
        push %rax
        push %rcx
        push %rdx
        push %rbx
        push %rbp
        push %rsi
        push %rdi
        push %r8
        push %r9
        push %r10
        push %r11
        push %r12
        push %r13
        push %r14
        push %r15
        mov %rsp, %rbp
        cld
#if MMIOTRACE_VECTOR_FREE_FLUSH
        and $-16, %rsp
        call mmiotrace_access_log_flush_vector_free_from_thunk
        test %eax, %eax
        jz 1f
#endif
        sub $4096, %rsp           // room for the XSAVE area (AVX-512 needs 2,696 bytes)
        and $-64, %rsp
        // Zero the XSAVE header (bytes 512-575), as XSAVE requires of a fresh area.
        xor %eax, %eax
        mov %rax, 512(%rsp)
        mov %rax, 520(%rsp)
        mov %rax, 528(%rsp)
        mov %rax, 536(%rsp)
        mov %rax, 544(%rsp)
        mov %rax, 552(%rsp)
        mov %rax, 560(%rsp)
        mov %rax, 568(%rsp)
        mov $0xff, %eax           // x87, SSE, AVX, MPX, AVX-512: not AMX, whose state needs
        xor %edx, %edx            // permission and 8 KiB
        xsave64 (%rsp)
        call mmiotrace_access_log_flush_from_thunk
        mov $0xff, %eax
        xor %edx, %edx
        xrstor64 (%rsp)
1:      mov %rbp, %rsp
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %r11
        pop %r10
        pop %r9
        pop %r8
        pop %rdi
        pop %rsi
        pop %rbp
        pop %rbx
        pop %rdx
        pop %rcx
        pop %rax
        popfq
        ret
        .size mmiotrace_access_log_flush_thunk, .-mmiotrace_access_log_flush_thunk

        .section .note.GNU-stack, "", @progbits
