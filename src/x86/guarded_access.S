// mmiotrace: signal-safe
// Memory accesses made on the traced program's behalf (an alias of a device, or the program's
// own memory) from inside a signal handler. Each routine is a leaf that pushes nothing, so a
// fault inside it can be recovered: the fault handler sees a PC between
// mmiotrace_guarded_begin and mmiotrace_guarded_end, sets RAX to 1 and returns to the caller
// (see x86/guarded_access.hpp). Otherwise each returns 0.
//
// Widths 1, 2, 4, 8, 16, 32 and 64 are made as ONE access of that width (a device register is
// read or written once, with the instruction's own width). Other widths are byte copies.

        .intel_syntax noprefix
        .text
        .globl mmiotrace_guarded_begin
        .hidden mmiotrace_guarded_begin
mmiotrace_guarded_begin:

// int mmiotrace_guarded_load(const void* source, void* destination, size_t width, int avx512)
        .globl mmiotrace_guarded_load
        .hidden mmiotrace_guarded_load
        .type mmiotrace_guarded_load, @function
mmiotrace_guarded_load:
        cmp rdx, 1
        je 1f
        cmp rdx, 2
        je 2f
        cmp rdx, 4
        je 4f
        cmp rdx, 8
        je 8f
        cmp rdx, 16
        je 16f
        cmp rdx, 32
        je 32f
        cmp rdx, 64
        je 64f
        jmp .Lcopy
1:      mov al, byte ptr [rdi]
        mov byte ptr [rsi], al
        xor eax, eax
        ret
2:      mov ax, word ptr [rdi]
        mov word ptr [rsi], ax
        xor eax, eax
        ret
4:      mov eax, dword ptr [rdi]
        mov dword ptr [rsi], eax
        xor eax, eax
        ret
8:      mov rax, qword ptr [rdi]
        mov qword ptr [rsi], rax
        xor eax, eax
        ret
16:     movdqu xmm0, xmmword ptr [rdi]
        movdqu xmmword ptr [rsi], xmm0
        xor eax, eax
        ret
32:     vmovdqu ymm0, ymmword ptr [rdi]
        vmovdqu ymmword ptr [rsi], ymm0
        vzeroupper
        xor eax, eax
        ret
64:     test ecx, ecx
        jz 65f
        vmovdqu64 zmm0, zmmword ptr [rdi]
        vmovdqu64 zmmword ptr [rsi], zmm0
        vzeroupper
        xor eax, eax
        ret
65:     vmovdqu ymm0, ymmword ptr [rdi]
        vmovdqu ymm1, ymmword ptr [rdi + 32]
        vmovdqu ymmword ptr [rsi], ymm0
        vmovdqu ymmword ptr [rsi + 32], ymm1
        vzeroupper
        xor eax, eax
        ret
        .size mmiotrace_guarded_load, . - mmiotrace_guarded_load

// int mmiotrace_guarded_store(void* destination, const void* source, size_t width, int avx512)
        .globl mmiotrace_guarded_store
        .hidden mmiotrace_guarded_store
        .type mmiotrace_guarded_store, @function
mmiotrace_guarded_store:
        cmp rdx, 1
        je 1f
        cmp rdx, 2
        je 2f
        cmp rdx, 4
        je 4f
        cmp rdx, 8
        je 8f
        cmp rdx, 16
        je 16f
        cmp rdx, 32
        je 32f
        cmp rdx, 64
        je 64f
        xchg rdi, rsi
        jmp .Lcopy
1:      mov al, byte ptr [rsi]
        mov byte ptr [rdi], al
        xor eax, eax
        ret
2:      mov ax, word ptr [rsi]
        mov word ptr [rdi], ax
        xor eax, eax
        ret
4:      mov eax, dword ptr [rsi]
        mov dword ptr [rdi], eax
        xor eax, eax
        ret
8:      mov rax, qword ptr [rsi]
        mov qword ptr [rdi], rax
        xor eax, eax
        ret
16:     movdqu xmm0, xmmword ptr [rsi]
        movdqu xmmword ptr [rdi], xmm0
        xor eax, eax
        ret
32:     vmovdqu ymm0, ymmword ptr [rsi]
        vmovdqu ymmword ptr [rdi], ymm0
        vzeroupper
        xor eax, eax
        ret
64:     test ecx, ecx
        jz 65f
        vmovdqu64 zmm0, zmmword ptr [rsi]
        vmovdqu64 zmmword ptr [rdi], zmm0
        vzeroupper
        xor eax, eax
        ret
65:     vmovdqu ymm0, ymmword ptr [rsi]
        vmovdqu ymm1, ymmword ptr [rsi + 32]
        vmovdqu ymmword ptr [rdi], ymm0
        vmovdqu ymmword ptr [rdi + 32], ymm1
        vzeroupper
        xor eax, eax
        ret
        .size mmiotrace_guarded_store, . - mmiotrace_guarded_store

// Byte copy: [rdi] -> [rsi], rdx bytes (shared tail of load and store).
.Lcopy:
        test rdx, rdx
        jz 2f
1:      mov al, byte ptr [rdi]
        mov byte ptr [rsi], al
        inc rdi
        inc rsi
        dec rdx
        jnz 1b
2:      xor eax, eax
        ret

// int mmiotrace_guarded_compare_exchange(void* address, void* expected, const void* desired,
//                                        size_t width)
// One locked compare-and-exchange of 1, 2, 4, 8 or 16 bytes. Returns 0 when it stored
// `desired`; otherwise 2, with the bytes found in `expected`.
        .globl mmiotrace_guarded_compare_exchange
        .hidden mmiotrace_guarded_compare_exchange
        .type mmiotrace_guarded_compare_exchange, @function
mmiotrace_guarded_compare_exchange:
        mov r8, rdx                     // desired
        mov r9, rsi                     // expected
        cmp rcx, 1
        je 1f
        cmp rcx, 2
        je 2f
        cmp rcx, 4
        je 4f
        cmp rcx, 8
        je 8f
        cmp rcx, 16
        je 16f
        mov eax, 3
        ret
1:      mov al, byte ptr [r9]
        mov dl, byte ptr [r8]
        lock cmpxchg byte ptr [rdi], dl
        mov byte ptr [r9], al
        jmp .Lcas_result
2:      mov ax, word ptr [r9]
        mov dx, word ptr [r8]
        lock cmpxchg word ptr [rdi], dx
        mov word ptr [r9], ax
        jmp .Lcas_result
4:      mov eax, dword ptr [r9]
        mov edx, dword ptr [r8]
        lock cmpxchg dword ptr [rdi], edx
        mov dword ptr [r9], eax
        jmp .Lcas_result
8:      mov rax, qword ptr [r9]
        mov rdx, qword ptr [r8]
        lock cmpxchg qword ptr [rdi], rdx
        mov qword ptr [r9], rax
        jmp .Lcas_result
16:     mov r10, rbx                    // rbx is callee-saved; keep it in a scratch register
        mov rax, qword ptr [r9]
        mov rdx, qword ptr [r9 + 8]
        mov rbx, qword ptr [r8]
        mov rcx, qword ptr [r8 + 8]
        .globl mmiotrace_guarded_cmpxchg16b
        .hidden mmiotrace_guarded_cmpxchg16b
mmiotrace_guarded_cmpxchg16b:           // a fault here must give rbx back (from r10)
        lock cmpxchg16b xmmword ptr [rdi]
        mov rbx, r10
        mov qword ptr [r9], rax
        mov qword ptr [r9 + 8], rdx
.Lcas_result:
        mov eax, 0
        jz 1f
        mov eax, 2
1:      ret
        .size mmiotrace_guarded_compare_exchange, . - mmiotrace_guarded_compare_exchange

        .globl mmiotrace_guarded_end
        .hidden mmiotrace_guarded_end
mmiotrace_guarded_end:
        .section .note.GNU-stack,"",@progbits
