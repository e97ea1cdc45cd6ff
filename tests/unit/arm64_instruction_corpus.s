// Every load/store class and addressing mode of A64, for the decoder's check against binutils
// (arm64_objdump_check --assemble), with the literal loads, prefetches and other words around.
.arch armv8.4-a+lse+rcpc
ldr x0, [x1]
ldr w2, [x3, #4092]
ldrb w4, [sp, #4095]
ldrh w5, [x6, #2]
ldrsb x7, [x8, #1]
ldrsb w7, [x8, #1]
ldrsh x9, [x10, #-2]!
ldrsw x11, [x12], #-4
ldur x13, [x14, #-1]
str wzr, [x0, #8]
strb wzr, [x1], #1
strh w2, [x3, #-256]!
str x4, [x5, x6]
ldr w7, [x8, w9, sxtw #2]
ldr x10, [x11, w12, uxtw]
ldrb w13, [x14, x15, lsl #0]
ldrh w16, [x17, x18, sxtx #1]
ldr x19, [x20, x21, lsl #3]
ldtr x0, [x1, #8]
sttrb w2, [x3]
ldp x0, x1, [sp, #16]
stp x29, x30, [sp, #-32]!
ldp w2, w3, [x4], #8
ldpsw x5, x6, [x7, #-8]
ldnp x8, x9, [x10, #504]
stnp w11, w12, [x13]
ldp q0, q1, [x2, #32]
stp d2, d3, [x4], #-16
ldnp s4, s5, [x6]
ldr b0, [x1]
ldr h2, [x3, #2]
ldr s4, [x5, x6, lsl #2]
ldr d7, [x8], #8
ldr q9, [x10, #-16]!
str q11, [x12, #4080]
stur d13, [x14, #1]
ldxr w0, [x1]
ldaxr x2, [sp]
stxr w3, x4, [x5]
stlxr w6, w7, [x8]
ldxrb w9, [x10]
stlxrh w11, w12, [x13]
ldxp x0, x1, [x2]
ldaxp w3, w4, [x5]
stxp w6, x7, x8, [x9]
stlxp w10, w11, w12, [x13]
ldar x0, [x1]
ldarb w2, [x3]
stlr w4, [x5]
stlrh w6, [x7]
ldlar x8, [x9]
stllr w10, [x11]
ldapr x12, [x13]
ldaprb w14, [x15]
ldapur w16, [x17, #-4]
ldapursw x18, [x19, #8]
ldapursb w20, [x21]
stlur x22, [x23, #255]
ldadd w0, w1, [x2]
ldaddal x3, x4, [x5]
ldclrab w6, w7, [x8]
ldeorlh w9, w10, [x11]
ldset x12, x13, [x14]
ldsmax w15, w16, [x17]
ldsmin x18, x19, [x20]
ldumax w21, w22, [x23]
ldumin x24, x25, [x26]
stadd w0, [x1]
swp x0, x1, [x2]
swpal w3, w4, [x5]
swpb w6, w7, [x8]
cas w0, w1, [x2]
casal x3, x4, [x5]
casab w6, w7, [x8]
caslh w9, w10, [x11]
casp x0, x1, x2, x3, [x4]
caspal w6, w7, w8, w9, [x10]
ld1 {v0.16b}, [x0]
ld1 {v1.8b, v2.8b}, [x1], #16
ld1 {v3.4s, v4.4s, v5.4s}, [x2], x3
ld1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x4]
ld2 {v0.8h, v1.8h}, [x5]
ld3 {v0.4s, v1.4s, v2.4s}, [x6], #48
ld4 {v30.16b, v31.16b, v0.16b, v1.16b}, [x7]
st1 {v0.2d}, [x0]
st2 {v2.2s, v3.2s}, [x1], x2
st4 {v4.4h, v5.4h, v6.4h, v7.4h}, [x3], #32
ld1 {v0.b}[15], [x0]
ld1 {v1.h}[3], [x1], #2
ld2 {v2.s, v3.s}[1], [x2]
ld3 {v4.d, v5.d, v6.d}[1], [x3], x4
ld4 {v7.s, v8.s, v9.s, v10.s}[3], [x5], #16
st1 {v0.d}[1], [x0]
st2 {v1.b, v2.b}[7], [x1], #2
ld1r {v0.4s}, [x0]
ld2r {v1.8b, v2.8b}, [x1], #2
ld3r {v3.2d, v4.2d, v5.2d}, [x2], x3
ld4r {v6.4h, v7.4h, v8.4h, v9.4h}, [x4]
dc zva, x0
dc civac, x1
prfm pldl1keep, [x0]
prfm pldl1keep, [x0, x1]
prfum pldl1keep, [x0, #1]
add x0, x1, x2
ldr x0, lit
ldrsw x1, lit
ldr q2, lit
prfm pldl1keep, lit
lit: .word 0
// Loads and stores the emulator leaves (Unsupported).
.arch armv8.7-a+ls64+memtag+sve+mops+pauth
ldraa x0, [x1, #8]
ldrab x2, [x3, #-16]!
stg x0, [x1]
ldg x2, [x3, #16]
stgp x0, x1, [x2]
ld64b x0, [x1]
st64b x0, [x1]
ld1b {z0.b}, p0/z, [x1]
st1d {z2.d}, p1, [x3, #1, mul vl]
ldr z4, [x5]
prfb pldl1keep, p0, [x0]
cpyp [x0]!, [x1]!, x2!
cpym [x0]!, [x1]!, x2!
cpye [x0]!, [x1]!, x2!
setp [x0]!, x1!, x2
setm [x0]!, x1!, x2
sete [x0]!, x1!, x2
