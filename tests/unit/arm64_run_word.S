// Runs one instruction word for arm64_qemu_check.cpp (AArch64 only): run_word(State* s, code)
// loads X0-X29 and V0-V31 from s, calls code (the word, then ret) with X30 as the link, and
// stores X0-X29 and V0-V31 back. The State layout is arm64::State's (x at 0, v at 272).
  .text
  .globl run_word
  .type run_word, %function
run_word:
  sub sp, sp, #176
  stp x19, x20, [sp, #0]
  stp x21, x22, [sp, #16]
  stp x23, x24, [sp, #32]
  stp x25, x26, [sp, #48]
  stp x27, x28, [sp, #64]
  stp x29, x30, [sp, #80]
  stp d8, d9, [sp, #96]
  stp d10, d11, [sp, #112]
  stp d12, d13, [sp, #128]
  stp d14, d15, [sp, #144]
  str x0, [sp, #160]
  mov x30, x1
  add x1, x0, #272
  ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [x1], #64
  ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [x1], #64
  ld1 {v8.16b, v9.16b, v10.16b, v11.16b}, [x1], #64
  ld1 {v12.16b, v13.16b, v14.16b, v15.16b}, [x1], #64
  ld1 {v16.16b, v17.16b, v18.16b, v19.16b}, [x1], #64
  ld1 {v20.16b, v21.16b, v22.16b, v23.16b}, [x1], #64
  ld1 {v24.16b, v25.16b, v26.16b, v27.16b}, [x1], #64
  ld1 {v28.16b, v29.16b, v30.16b, v31.16b}, [x1], #64
  ldp x1, x2, [x0, #8]
  ldp x3, x4, [x0, #24]
  ldp x5, x6, [x0, #40]
  ldp x7, x8, [x0, #56]
  ldp x9, x10, [x0, #72]
  ldp x11, x12, [x0, #88]
  ldp x13, x14, [x0, #104]
  ldp x15, x16, [x0, #120]
  ldp x17, x18, [x0, #136]
  ldp x19, x20, [x0, #152]
  ldp x21, x22, [x0, #168]
  ldp x23, x24, [x0, #184]
  ldp x25, x26, [x0, #200]
  ldp x27, x28, [x0, #216]
  ldr x29, [x0, #232]
  ldr x0, [x0]
  blr x30
  str x0, [sp, #168]
  ldr x0, [sp, #160]
  stp x1, x2, [x0, #8]
  stp x3, x4, [x0, #24]
  stp x5, x6, [x0, #40]
  stp x7, x8, [x0, #56]
  stp x9, x10, [x0, #72]
  stp x11, x12, [x0, #88]
  stp x13, x14, [x0, #104]
  stp x15, x16, [x0, #120]
  stp x17, x18, [x0, #136]
  stp x19, x20, [x0, #152]
  stp x21, x22, [x0, #168]
  stp x23, x24, [x0, #184]
  stp x25, x26, [x0, #200]
  stp x27, x28, [x0, #216]
  str x29, [x0, #232]
  ldr x1, [sp, #168]
  str x1, [x0]
  add x1, x0, #272
  st1 {v0.16b, v1.16b, v2.16b, v3.16b}, [x1], #64
  st1 {v4.16b, v5.16b, v6.16b, v7.16b}, [x1], #64
  st1 {v8.16b, v9.16b, v10.16b, v11.16b}, [x1], #64
  st1 {v12.16b, v13.16b, v14.16b, v15.16b}, [x1], #64
  st1 {v16.16b, v17.16b, v18.16b, v19.16b}, [x1], #64
  st1 {v20.16b, v21.16b, v22.16b, v23.16b}, [x1], #64
  st1 {v24.16b, v25.16b, v26.16b, v27.16b}, [x1], #64
  st1 {v28.16b, v29.16b, v30.16b, v31.16b}, [x1], #64
  ldp x19, x20, [sp, #0]
  ldp x21, x22, [sp, #16]
  ldp x23, x24, [sp, #32]
  ldp x25, x26, [sp, #48]
  ldp x27, x28, [sp, #64]
  ldp x29, x30, [sp, #80]
  ldp d8, d9, [sp, #96]
  ldp d10, d11, [sp, #112]
  ldp d12, d13, [sp, #128]
  ldp d14, d15, [sp, #144]
  add sp, sp, #176
  ret
  .size run_word, .-run_word
  .section .note.GNU-stack,"",%progbits
