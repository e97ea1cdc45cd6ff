// mmiotrace: signal-safe
// The AArch64 guarded accesses (guarded_access.hpp): leaf routines, between
// mmiotrace_arm64_guarded_begin and _end, whose every load and store may fault. The engine's
// fault handler recovers such a fault by returning kGuardedFault (1) in x0 to the address in x30;
// so the routines keep x30 and call nothing. Results: 0 kGuardedOk, 1 kGuardedFault,
// 2 kGuardedMismatch, 3 kGuardedUnavailable (a width these routines do not make in one access).

        .text
        .balign 16
        .globl  mmiotrace_arm64_guarded_begin
        .hidden mmiotrace_arm64_guarded_begin
mmiotrace_arm64_guarded_begin:

// int mmiotrace_arm64_guarded_load(const void* source, void* destination, size_t width):
// one access of 1, 2, 4, 8 or 16 bytes (LDR of a B/H/W/X/Q register); other widths a byte at a
// time, in ascending order.
        .globl  mmiotrace_arm64_guarded_load
        .hidden mmiotrace_arm64_guarded_load
        .type   mmiotrace_arm64_guarded_load, %function
mmiotrace_arm64_guarded_load:
        cmp     x2, #8
        b.eq    .Lload8
        cmp     x2, #4
        b.eq    .Lload4
        cmp     x2, #1
        b.eq    .Lload1
        cmp     x2, #2
        b.eq    .Lload2
        cmp     x2, #16
        b.eq    .Lload16
        cbz     x2, .Lok
.Lload_bytes:
        ldrb    w3, [x0], #1
        strb    w3, [x1], #1
        subs    x2, x2, #1
        b.ne    .Lload_bytes
        b       .Lok
.Lload1:
        ldrb    w3, [x0]
        strb    w3, [x1]
        b       .Lok
.Lload2:
        ldrh    w3, [x0]
        strh    w3, [x1]
        b       .Lok
.Lload4:
        ldr     w3, [x0]
        str     w3, [x1]
        b       .Lok
.Lload8:
        ldr     x3, [x0]
        str     x3, [x1]
        b       .Lok
.Lload16:
        ldr     q16, [x0]
        str     q16, [x1]
        b       .Lok
        .size   mmiotrace_arm64_guarded_load, . - mmiotrace_arm64_guarded_load

// int mmiotrace_arm64_guarded_store(void* destination, const void* source, size_t width): as the
// load, the other way.
        .globl  mmiotrace_arm64_guarded_store
        .hidden mmiotrace_arm64_guarded_store
        .type   mmiotrace_arm64_guarded_store, %function
mmiotrace_arm64_guarded_store:
        cmp     x2, #8
        b.eq    .Lstore8
        cmp     x2, #4
        b.eq    .Lstore4
        cmp     x2, #1
        b.eq    .Lstore1
        cmp     x2, #2
        b.eq    .Lstore2
        cmp     x2, #16
        b.eq    .Lstore16
        cbz     x2, .Lok
.Lstore_bytes:
        ldrb    w3, [x1], #1
        strb    w3, [x0], #1
        subs    x2, x2, #1
        b.ne    .Lstore_bytes
        b       .Lok
.Lstore1:
        ldrb    w3, [x1]
        strb    w3, [x0]
        b       .Lok
.Lstore2:
        ldrh    w3, [x1]
        strh    w3, [x0]
        b       .Lok
.Lstore4:
        ldr     w3, [x1]
        str     w3, [x0]
        b       .Lok
.Lstore8:
        ldr     x3, [x1]
        str     x3, [x0]
        b       .Lok
.Lstore16:
        ldr     q16, [x1]
        str     q16, [x0]
        b       .Lok
        .size   mmiotrace_arm64_guarded_store, . - mmiotrace_arm64_guarded_store

// int mmiotrace_arm64_guarded_compare_exchange(void* address, void* expected,
//                                              const void* desired, size_t width):
// an exclusive load-acquire / store-release loop (no LSE needed) of 1, 2, 4, 8 or 16 bytes (a
// pair). Mismatch leaves the bytes found in `expected`; a 16-byte one has stored them back, so
// that what it read was one single-copy-atomic pair.
        .globl  mmiotrace_arm64_guarded_compare_exchange
        .hidden mmiotrace_arm64_guarded_compare_exchange
        .type   mmiotrace_arm64_guarded_compare_exchange, %function
mmiotrace_arm64_guarded_compare_exchange:
        cmp     x3, #8
        b.eq    .Lcas8
        cmp     x3, #4
        b.eq    .Lcas4
        cmp     x3, #1
        b.eq    .Lcas1
        cmp     x3, #2
        b.eq    .Lcas2
        cmp     x3, #16
        b.eq    .Lcas16
        mov     w0, #3
        ret
.Lcas1:
        ldrb    w4, [x1]
        ldrb    w5, [x2]
.Lcas1_retry:
        ldaxrb  w6, [x0]
        cmp     w6, w4
        b.ne    .Lcas1_mismatch
        stlxrb  w7, w5, [x0]
        cbnz    w7, .Lcas1_retry
        b       .Lok
.Lcas1_mismatch:
        clrex
        strb    w6, [x1]
        b       .Lmismatch
.Lcas2:
        ldrh    w4, [x1]
        ldrh    w5, [x2]
.Lcas2_retry:
        ldaxrh  w6, [x0]
        cmp     w6, w4
        b.ne    .Lcas2_mismatch
        stlxrh  w7, w5, [x0]
        cbnz    w7, .Lcas2_retry
        b       .Lok
.Lcas2_mismatch:
        clrex
        strh    w6, [x1]
        b       .Lmismatch
.Lcas4:
        ldr     w4, [x1]
        ldr     w5, [x2]
.Lcas4_retry:
        ldaxr   w6, [x0]
        cmp     w6, w4
        b.ne    .Lcas4_mismatch
        stlxr   w7, w5, [x0]
        cbnz    w7, .Lcas4_retry
        b       .Lok
.Lcas4_mismatch:
        clrex
        str     w6, [x1]
        b       .Lmismatch
.Lcas8:
        ldr     x4, [x1]
        ldr     x5, [x2]
.Lcas8_retry:
        ldaxr   x6, [x0]
        cmp     x6, x4
        b.ne    .Lcas8_mismatch
        stlxr   w7, x5, [x0]
        cbnz    w7, .Lcas8_retry
        b       .Lok
.Lcas8_mismatch:
        clrex
        str     x6, [x1]
        b       .Lmismatch
.Lcas16:
        ldp     x4, x5, [x1]
        ldp     x8, x9, [x2]
.Lcas16_retry:
        ldaxp   x6, x7, [x0]
        cmp     x6, x4
        ccmp    x7, x5, #0, eq
        b.ne    .Lcas16_mismatch
        stlxp   w10, x8, x9, [x0]
        cbnz    w10, .Lcas16_retry
        b       .Lok
.Lcas16_mismatch:
        stlxp   w10, x6, x7, [x0]
        cbnz    w10, .Lcas16_retry
        stp     x6, x7, [x1]
        b       .Lmismatch
        .size   mmiotrace_arm64_guarded_compare_exchange, \
                . - mmiotrace_arm64_guarded_compare_exchange

.Lok:
        mov     w0, #0
        ret
.Lmismatch:
        mov     w0, #2
        ret

        .globl  mmiotrace_arm64_guarded_end
        .hidden mmiotrace_arm64_guarded_end
mmiotrace_arm64_guarded_end:

        .section .note.GNU-stack, "", %progbits
