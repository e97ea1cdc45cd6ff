// mmiotrace: signal-safe
// mmiotrace_region_lookup_thunk (declared in region_cache.hpp): called by translated code when
// its thread's region cache cannot tell whether an access is traced. Saves every general-purpose
// register and the flags, calls mmiotrace_region_lookup_from_thunk() (vector-free code: it leaves
// every other register alone), and restores them. In builds without vector-free code
// (MMIOTRACE_VECTOR_FREE_FLUSH 0: clang, sanitizers) it saves the extended state with XSAVE too,
// as the access log's flush thunk does.

        .text
        .globl mmiotrace_region_lookup_thunk
        .hidden mmiotrace_region_lookup_thunk
        .type mmiotrace_region_lookup_thunk, @function
mmiotrace_region_lookup_thunk:
        pushfq
        push %rax
        push %rcx
        push %rdx
        push %rsi
        push %rdi
        push %r8
        push %r9
        push %r10
        push %r11
        push %rbp
        mov %rsp, %rbp
        cld
#if MMIOTRACE_VECTOR_FREE_FLUSH
        and $-16, %rsp
        call mmiotrace_region_lookup_from_thunk
#else
        sub $4096, %rsp           // room for the XSAVE area (AVX-512 needs 2,696 bytes)
        and $-64, %rsp
        xor %eax, %eax            // a fresh XSAVE header (bytes 512-575)
        mov %rax, 512(%rsp)
        mov %rax, 520(%rsp)
        mov %rax, 528(%rsp)
        mov %rax, 536(%rsp)
        mov %rax, 544(%rsp)
        mov %rax, 552(%rsp)
        mov %rax, 560(%rsp)
        mov %rax, 568(%rsp)
        mov $0xff, %eax           // x87, SSE, AVX, MPX, AVX-512
        xor %edx, %edx
        xsave64 (%rsp)
        call mmiotrace_region_lookup_from_thunk
        mov $0xff, %eax
        xor %edx, %edx
        xrstor64 (%rsp)
#endif
        mov %rbp, %rsp
        pop %rbp
        pop %r11
        pop %r10
        pop %r9
        pop %r8
        pop %rdi
        pop %rsi
        pop %rdx
        pop %rcx
        pop %rax
        popfq
        ret
        .size mmiotrace_region_lookup_thunk, .-mmiotrace_region_lookup_thunk

        .section .note.GNU-stack, "", @progbits
