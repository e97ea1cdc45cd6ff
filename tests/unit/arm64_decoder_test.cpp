// Unit tests for arm64/decoder: what the tracer learns from an A64 word, class by class and
// addressing mode by addressing mode. The words are binutils' encodings of the instruction in
// each comment (tests/unit/arm64_instruction_corpus.s has them all; the ctest
// arm64_decoder_objdump checks the decoder against objdump on it and on glibc).
#include "arm64/decoder.hpp"

#include <gtest/gtest.h>

namespace mmiotrace::arm64 {
namespace {

Access decoded(uint32_t word) {
  Access access;
  EXPECT_EQ(decode(word, access), DecodeStatus::Access) << std::hex << word;
  return access;
}

DecodeStatus status_of(uint32_t word) {
  Access access;
  return decode(word, access);
}

TEST(Arm64Decoder, LoadUnsignedOffsetIsScaledBySize) {
  const Access ldr = decoded(0xb94ffc62);  // ldr w2, [x3, #4092]
  EXPECT_EQ(ldr.operation, Operation::Load);
  EXPECT_EQ(ldr.mode, AddressMode::Offset);
  EXPECT_EQ(ldr.size, 4);
  EXPECT_EQ(ldr.register_bytes, 4);
  EXPECT_EQ(ldr.rt, 2);
  EXPECT_EQ(ldr.rn, 3);
  EXPECT_EQ(ldr.imm, 4092);
  EXPECT_FALSE(ldr.writeback);
  EXPECT_FALSE(ldr.sign_extend);

  const Access ldrb = decoded(0x397fffe4);  // ldrb w4, [sp, #4095]
  EXPECT_EQ(ldrb.size, 1);
  EXPECT_EQ(ldrb.rn, kStackPointer);
  EXPECT_EQ(ldrb.imm, 4095);
  EXPECT_EQ(decoded(0xf9400020).size, 8);  // ldr x0, [x1]
  EXPECT_EQ(decoded(0x794004c5).imm, 2);   // ldrh w5, [x6, #2]
}

TEST(Arm64Decoder, SignExtendingLoadsNameTheirDestinationWidth) {
  const Access to_x = decoded(0x39800507);  // ldrsb x7, [x8, #1]
  EXPECT_TRUE(to_x.sign_extend);
  EXPECT_EQ(to_x.size, 1);
  EXPECT_EQ(to_x.register_bytes, 8);
  const Access to_w = decoded(0x39c00507);  // ldrsb w7, [x8, #1]
  EXPECT_TRUE(to_w.sign_extend);
  EXPECT_EQ(to_w.register_bytes, 4);
  const Access ldrsw = decoded(0xb89fc58b);  // ldrsw x11, [x12], #-4
  EXPECT_EQ(ldrsw.size, 4);
  EXPECT_EQ(ldrsw.register_bytes, 8);
  EXPECT_TRUE(ldrsw.sign_extend);
}

TEST(Arm64Decoder, PreAndPostIndexWriteBack) {
  const Access pre = decoded(0x789fed49);  // ldrsh x9, [x10, #-2]!
  EXPECT_EQ(pre.mode, AddressMode::PreIndex);
  EXPECT_EQ(pre.imm, -2);
  EXPECT_TRUE(pre.writeback);
  const Access post = decoded(0xb89fc58b);  // ldrsw x11, [x12], #-4
  EXPECT_EQ(post.mode, AddressMode::PostIndex);
  EXPECT_EQ(post.imm, -4);
  EXPECT_TRUE(post.writeback);
  const Access store = decoded(0x78100c62);  // strh w2, [x3, #-256]!
  EXPECT_EQ(store.operation, Operation::Store);
  EXPECT_EQ(store.imm, -256);
  EXPECT_EQ(store.mode, AddressMode::PreIndex);
}

TEST(Arm64Decoder, UnscaledAndUnprivilegedForms) {
  const Access ldur = decoded(0xf85ff1cd);  // ldur x13, [x14, #-1]
  EXPECT_EQ(ldur.mode, AddressMode::Offset);
  EXPECT_EQ(ldur.imm, -1);
  EXPECT_FALSE(ldur.writeback);
  const Access ldtr = decoded(0xf8408820);  // ldtr x0, [x1, #8]
  EXPECT_TRUE(ldtr.unprivileged);
  EXPECT_EQ(ldtr.imm, 8);
  EXPECT_EQ(decoded(0x38000862).operation, Operation::Store);  // sttrb w2, [x3]
}

TEST(Arm64Decoder, ZeroRegisterStores) {
  const Access str = decoded(0xb900081f);  // str wzr, [x0, #8]
  EXPECT_EQ(str.rt, kZeroRegister);
  EXPECT_EQ(str.size, 4);
  const Access strb = decoded(0x3800143f);  // strb wzr, [x1], #1
  EXPECT_EQ(strb.rt, kZeroRegister);
  EXPECT_EQ(strb.mode, AddressMode::PostIndex);
  EXPECT_EQ(strb.imm, 1);
}

TEST(Arm64Decoder, RegisterOffsetWithExtendAndShift) {
  const Access plain = decoded(0xf82668a4);  // str x4, [x5, x6]
  EXPECT_EQ(plain.mode, AddressMode::RegisterOffset);
  EXPECT_EQ(plain.rm, 6);
  EXPECT_EQ(plain.extend, Extend::Lsl);
  EXPECT_EQ(plain.shift, 0);
  const Access sxtw = decoded(0xb869d907);  // ldr w7, [x8, w9, sxtw #2]
  EXPECT_EQ(sxtw.extend, Extend::Sxtw);
  EXPECT_EQ(sxtw.shift, 2);
  EXPECT_EQ(sxtw.rm, 9);
  const Access uxtw = decoded(0xf86c496a);  // ldr x10, [x11, w12, uxtw]
  EXPECT_EQ(uxtw.extend, Extend::Uxtw);
  EXPECT_EQ(uxtw.shift, 0);
  const Access sxtx = decoded(0x7872fa30);  // ldrh w16, [x17, x18, sxtx #1]
  EXPECT_EQ(sxtx.extend, Extend::Sxtx);
  EXPECT_EQ(sxtx.shift, 1);
  EXPECT_EQ(decoded(0xf8757a93).shift, 3);  // ldr x19, [x20, x21, lsl #3]
  EXPECT_EQ(decoded(0x386f79cd).shift, 0);  // ldrb w13, [x14, x15, lsl #0]
  EXPECT_EQ(decoded(0xbc6678a4).shift, 2);  // ldr s4, [x5, x6, lsl #2]
}

TEST(Arm64Decoder, RegisterOffsetWithAReservedExtendIsNoAccess) {
  // ldr x0, [x1, x2] with option 001 (uxth), which A64 leaves unallocated.
  EXPECT_EQ(status_of(0xf8622820), DecodeStatus::NotAccess);
}

TEST(Arm64Decoder, GeneralPairs) {
  const Access ldp = decoded(0xa94107e0);  // ldp x0, x1, [sp, #16]
  EXPECT_EQ(ldp.operation, Operation::LoadPair);
  EXPECT_EQ(ldp.rt, 0);
  EXPECT_EQ(ldp.rt2, 1);
  EXPECT_EQ(ldp.rn, kStackPointer);
  EXPECT_EQ(ldp.size, 8);
  EXPECT_EQ(ldp.total_bytes, 16);
  EXPECT_EQ(ldp.imm, 16);
  const Access stp = decoded(0xa9be7bfd);  // stp x29, x30, [sp, #-32]!
  EXPECT_EQ(stp.operation, Operation::StorePair);
  EXPECT_EQ(stp.mode, AddressMode::PreIndex);
  EXPECT_EQ(stp.imm, -32);
  const Access post = decoded(0x28c10c82);  // ldp w2, w3, [x4], #8
  EXPECT_EQ(post.mode, AddressMode::PostIndex);
  EXPECT_EQ(post.size, 4);
  EXPECT_EQ(post.imm, 8);
  const Access ldpsw = decoded(0x697f18e5);  // ldpsw x5, x6, [x7, #-8]
  EXPECT_TRUE(ldpsw.sign_extend);
  EXPECT_EQ(ldpsw.size, 4);
  EXPECT_EQ(ldpsw.register_bytes, 8);
  EXPECT_EQ(ldpsw.imm, -8);
}

TEST(Arm64Decoder, NonTemporalPairs) {
  const Access ldnp = decoded(0xa85fa548);  // ldnp x8, x9, [x10, #504]
  EXPECT_TRUE(ldnp.non_temporal);
  EXPECT_EQ(ldnp.mode, AddressMode::Offset);
  EXPECT_EQ(ldnp.imm, 504);
  const Access stnp = decoded(0x280031ab);  // stnp w11, w12, [x13]
  EXPECT_TRUE(stnp.non_temporal);
  EXPECT_EQ(stnp.operation, Operation::StorePair);
  EXPECT_EQ(stnp.size, 4);
  const Access simd = decoded(0x2c4014c4);  // ldnp s4, s5, [x6]
  EXPECT_TRUE(simd.vector);
  EXPECT_EQ(simd.size, 4);
}

TEST(Arm64Decoder, SimdAndFpRegisters) {
  const Access b = decoded(0x3d400020);  // ldr b0, [x1]
  EXPECT_TRUE(b.vector);
  EXPECT_EQ(b.size, 1);
  EXPECT_EQ(decoded(0x7d400462).size, 2);  // ldr h2, [x3, #2]
  const Access d = decoded(0xfc408507);    // ldr d7, [x8], #8
  EXPECT_EQ(d.size, 8);
  EXPECT_EQ(d.mode, AddressMode::PostIndex);
  const Access q = decoded(0x3cdf0d49);  // ldr q9, [x10, #-16]!
  EXPECT_EQ(q.size, 16);
  EXPECT_EQ(q.imm, -16);
  const Access str_q = decoded(0x3d83fd8b);  // str q11, [x12, #4080]
  EXPECT_EQ(str_q.operation, Operation::Store);
  EXPECT_EQ(str_q.imm, 4080);
  const Access ldp_q = decoded(0xad410440);  // ldp q0, q1, [x2, #32]
  EXPECT_EQ(ldp_q.size, 16);
  EXPECT_EQ(ldp_q.imm, 32);
  EXPECT_EQ(decoded(0x6cbf0c82).imm, -16);  // stp d2, d3, [x4], #-16
}

TEST(Arm64Decoder, VectorRegistersOfAnAccessAreTheOnesItNames) {
  // The V registers a trap copies from and back into the signal frame: these, and no others.
  EXPECT_EQ(vector_registers_of(decoded(0x3dc00005)), 1u << 5);                 // ldr q5, [x0]
  EXPECT_EQ(vector_registers_of(decoded(0xad404443)), (1u << 3) | (1u << 17));  // ldp q3, q17
  EXPECT_EQ(vector_registers_of(decoded(0x0d409027)), 1u << 7);  // ld1 {v7.s}[1], [x1]
  // ld4 {v30.16b, v31.16b, v0.16b, v1.16b}, [x0]: four registers from V30, modulo 32.
  EXPECT_EQ(vector_registers_of(decoded(0x4c40001e)), 0xc0000003u);
  EXPECT_EQ(vector_registers_of(decoded(0xf9400003)), 0u);  // ldr x3, [x0]
}

TEST(Arm64Decoder, Exclusives) {
  const Access ldxr = decoded(0x885f7c20);  // ldxr w0, [x1]
  EXPECT_EQ(ldxr.operation, Operation::LoadExclusive);
  EXPECT_EQ(ldxr.size, 4);
  EXPECT_FALSE(ldxr.acquire);
  const Access ldaxr = decoded(0xc85fffe2);  // ldaxr x2, [sp]
  EXPECT_TRUE(ldaxr.acquire);
  EXPECT_EQ(ldaxr.rn, kStackPointer);
  const Access stxr = decoded(0xc8037ca4);  // stxr w3, x4, [x5]
  EXPECT_EQ(stxr.operation, Operation::StoreExclusive);
  EXPECT_EQ(stxr.rs, 3);
  EXPECT_EQ(stxr.rt, 4);
  EXPECT_EQ(stxr.size, 8);
  EXPECT_FALSE(stxr.release);
  EXPECT_TRUE(decoded(0x8806fd07).release);  // stlxr w6, w7, [x8]
  EXPECT_EQ(decoded(0x085f7d49).size, 1);    // ldxrb w9, [x10]
  EXPECT_EQ(decoded(0x480bfdac).size, 2);    // stlxrh w11, w12, [x13]
}

TEST(Arm64Decoder, ExclusivePairs) {
  const Access ldxp = decoded(0xc87f0440);  // ldxp x0, x1, [x2]
  EXPECT_EQ(ldxp.operation, Operation::LoadExclusivePair);
  EXPECT_EQ(ldxp.rt2, 1);
  EXPECT_EQ(ldxp.size, 8);
  EXPECT_EQ(ldxp.total_bytes, 16);
  const Access ldaxp = decoded(0x887f90a3);  // ldaxp w3, w4, [x5]
  EXPECT_TRUE(ldaxp.acquire);
  EXPECT_EQ(ldaxp.total_bytes, 8);
  const Access stxp = decoded(0xc8262127);  // stxp w6, x7, x8, [x9]
  EXPECT_EQ(stxp.operation, Operation::StoreExclusivePair);
  EXPECT_EQ(stxp.rs, 6);
  EXPECT_EQ(stxp.rt, 7);
  EXPECT_EQ(stxp.rt2, 8);
  EXPECT_TRUE(decoded(0x882ab1ab).release);  // stlxp w10, w11, w12, [x13]
}

TEST(Arm64Decoder, AcquireReleaseAndRcpc) {
  const Access ldar = decoded(0xc8dffc20);  // ldar x0, [x1]
  EXPECT_EQ(ldar.operation, Operation::Load);
  EXPECT_TRUE(ldar.acquire);
  EXPECT_EQ(ldar.size, 8);
  EXPECT_EQ(decoded(0x08dffc62).size, 1);   // ldarb w2, [x3]
  const Access stlr = decoded(0x889ffca4);  // stlr w4, [x5]
  EXPECT_EQ(stlr.operation, Operation::Store);
  EXPECT_TRUE(stlr.release);
  EXPECT_EQ(decoded(0x489ffce6).size, 2);    // stlrh w6, [x7]
  EXPECT_TRUE(decoded(0xc8df7d28).acquire);  // ldlar x8, [x9]
  EXPECT_TRUE(decoded(0x889f7d6a).release);  // stllr w10, [x11]
  const Access ldapr = decoded(0xf8bfc1ac);  // ldapr x12, [x13]
  EXPECT_EQ(ldapr.operation, Operation::Load);
  EXPECT_TRUE(ldapr.acquire);
  EXPECT_EQ(ldapr.size, 8);
  EXPECT_EQ(decoded(0x38bfc1ee).size, 1);     // ldaprb w14, [x15]
  const Access ldapur = decoded(0x995fc230);  // ldapur w16, [x17, #-4]
  EXPECT_EQ(ldapur.imm, -4);
  EXPECT_TRUE(ldapur.acquire);
  const Access ldapursw = decoded(0x99808272);  // ldapursw x18, [x19, #8]
  EXPECT_TRUE(ldapursw.sign_extend);
  EXPECT_EQ(ldapursw.register_bytes, 8);
  EXPECT_EQ(ldapursw.imm, 8);
  EXPECT_EQ(decoded(0x19c002b4).register_bytes, 4);  // ldapursb w20, [x21]
  const Access stlur = decoded(0xd90ff2f6);          // stlur x22, [x23, #255]
  EXPECT_EQ(stlur.operation, Operation::Store);
  EXPECT_TRUE(stlur.release);
  EXPECT_EQ(stlur.imm, 255);
}

TEST(Arm64Decoder, LseAtomicOperations) {
  const Access ldadd = decoded(0xb8200041);  // ldadd w0, w1, [x2]
  EXPECT_EQ(ldadd.operation, Operation::AtomicOp);
  EXPECT_EQ(ldadd.atomic, AtomicOpKind::Add);
  EXPECT_EQ(ldadd.rs, 0);
  EXPECT_EQ(ldadd.rt, 1);
  EXPECT_EQ(ldadd.rn, 2);
  EXPECT_EQ(ldadd.size, 4);
  const Access ldaddal = decoded(0xf8e300a4);  // ldaddal x3, x4, [x5]
  EXPECT_TRUE(ldaddal.acquire);
  EXPECT_TRUE(ldaddal.release);
  EXPECT_EQ(ldaddal.size, 8);
  const Access ldclrab = decoded(0x38a61107);  // ldclrab w6, w7, [x8]
  EXPECT_EQ(ldclrab.atomic, AtomicOpKind::Clear);
  EXPECT_TRUE(ldclrab.acquire);
  EXPECT_FALSE(ldclrab.release);
  EXPECT_EQ(ldclrab.size, 1);
  const Access ldeorlh = decoded(0x7869216a);  // ldeorlh w9, w10, [x11]
  EXPECT_EQ(ldeorlh.atomic, AtomicOpKind::Xor);
  EXPECT_TRUE(ldeorlh.release);
  EXPECT_EQ(ldeorlh.size, 2);
  EXPECT_EQ(decoded(0xf82c31cd).atomic, AtomicOpKind::Set);          // ldset x12, x13, [x14]
  EXPECT_EQ(decoded(0xb82f4230).atomic, AtomicOpKind::SignedMax);    // ldsmax w15, w16, [x17]
  EXPECT_EQ(decoded(0xf8325293).atomic, AtomicOpKind::SignedMin);    // ldsmin x18, x19, [x20]
  EXPECT_EQ(decoded(0xb83562f6).atomic, AtomicOpKind::UnsignedMax);  // ldumax w21, w22, [x23]
  EXPECT_EQ(decoded(0xf8387359).atomic, AtomicOpKind::UnsignedMin);  // ldumin x24, x25, [x26]
  EXPECT_EQ(decoded(0xb820003f).rt, kZeroRegister);                  // stadd w0, [x1]
}

TEST(Arm64Decoder, SwapAndCompareAndSwap) {
  const Access swp = decoded(0xf8208041);  // swp x0, x1, [x2]
  EXPECT_EQ(swp.operation, Operation::Swap);
  EXPECT_EQ(swp.rs, 0);
  EXPECT_EQ(swp.rt, 1);
  const Access swpal = decoded(0xb8e380a4);  // swpal w3, w4, [x5]
  EXPECT_TRUE(swpal.acquire && swpal.release);
  EXPECT_EQ(decoded(0x38268107).size, 1);  // swpb w6, w7, [x8]
  const Access cas = decoded(0x88a07c41);  // cas w0, w1, [x2]
  EXPECT_EQ(cas.operation, Operation::CompareSwap);
  EXPECT_EQ(cas.rs, 0);
  EXPECT_EQ(cas.rt, 1);
  EXPECT_EQ(cas.size, 4);
  EXPECT_FALSE(cas.acquire || cas.release);
  const Access casal = decoded(0xc8e3fca4);  // casal x3, x4, [x5]
  EXPECT_TRUE(casal.acquire && casal.release);
  EXPECT_EQ(casal.size, 8);
  EXPECT_EQ(decoded(0x08e67d07).size, 1);    // casab w6, w7, [x8]
  EXPECT_TRUE(decoded(0x48a9fd6a).release);  // caslh w9, w10, [x11]
  const Access casp = decoded(0x48207c82);   // casp x0, x1, x2, x3, [x4]
  EXPECT_EQ(casp.operation, Operation::CompareSwapPair);
  EXPECT_EQ(casp.rs, 0);
  EXPECT_EQ(casp.rt, 2);
  EXPECT_EQ(casp.size, 8);
  EXPECT_EQ(casp.total_bytes, 16);
  const Access caspal = decoded(0x0866fd48);  // caspal w6, w7, w8, w9, [x10]
  EXPECT_EQ(caspal.size, 4);
  EXPECT_EQ(caspal.total_bytes, 8);
  EXPECT_TRUE(caspal.acquire && caspal.release);
  // casp with an odd first register is unallocated.
  EXPECT_EQ(status_of(0x48217c82), DecodeStatus::NotAccess);
}

TEST(Arm64Decoder, MultipleStructures) {
  const Access one = decoded(0x4c407000);  // ld1 {v0.16b}, [x0]
  EXPECT_EQ(one.operation, Operation::LoadMultiple);
  EXPECT_EQ(one.registers, 1);
  EXPECT_EQ(one.vector_bytes, 16);
  EXPECT_EQ(one.size, 1);
  EXPECT_EQ(one.total_bytes, 16);
  const Access two = decoded(0x0cdfa021);  // ld1 {v1.8b, v2.8b}, [x1], #16
  EXPECT_EQ(two.registers, 2);
  EXPECT_EQ(two.structure_elements, 1);
  EXPECT_EQ(two.vector_bytes, 8);
  EXPECT_EQ(two.mode, AddressMode::PostIndex);
  EXPECT_EQ(two.imm, 16);
  const Access by_register = decoded(0x4cc36843);  // ld1 {v3.4s-v5.4s}, [x2], x3
  EXPECT_EQ(by_register.mode, AddressMode::PostIndexRegister);
  EXPECT_EQ(by_register.rm, 3);
  EXPECT_EQ(by_register.registers, 3);
  EXPECT_EQ(by_register.size, 4);
  EXPECT_EQ(decoded(0x4c402c9c).total_bytes, 64);  // ld1 {v28.2d-v31.2d}, [x4]
  const Access ld2 = decoded(0x4c4084a0);          // ld2 {v0.8h, v1.8h}, [x5]
  EXPECT_EQ(ld2.structure_elements, 2);
  EXPECT_EQ(ld2.size, 2);
  const Access ld4 = decoded(0x4c4000fe);  // ld4 {v30.16b, v31.16b, v0.16b, v1.16b}, [x7]
  EXPECT_EQ(ld4.structure_elements, 4);
  EXPECT_EQ(ld4.rt, 30);
  const Access st4 = decoded(0x0c9f0464);  // st4 {v4.4h-v7.4h}, [x3], #32
  EXPECT_EQ(st4.operation, Operation::StoreMultiple);
  EXPECT_EQ(st4.total_bytes, 32);
  EXPECT_EQ(st4.imm, 32);
  EXPECT_EQ(decoded(0x0c828822).rm, 2);  // st2 {v2.2s, v3.2s}, [x1], x2
}

TEST(Arm64Decoder, SingleStructuresAndReplicates) {
  const Access b = decoded(0x4d401c00);  // ld1 {v0.b}[15], [x0]
  EXPECT_EQ(b.operation, Operation::LoadSingle);
  EXPECT_EQ(b.lane, 15);
  EXPECT_EQ(b.size, 1);
  const Access h = decoded(0x0ddf5821);  // ld1 {v1.h}[3], [x1], #2
  EXPECT_EQ(h.lane, 3);
  EXPECT_EQ(h.imm, 2);
  const Access s = decoded(0x0d609042);  // ld2 {v2.s, v3.s}[1], [x2]
  EXPECT_EQ(s.lane, 1);
  EXPECT_EQ(s.structure_elements, 2);
  EXPECT_EQ(s.total_bytes, 8);
  const Access d = decoded(0x4dc4a464);  // ld3 {v4.d-v6.d}[1], [x3], x4
  EXPECT_EQ(d.size, 8);
  EXPECT_EQ(d.lane, 1);
  EXPECT_EQ(d.mode, AddressMode::PostIndexRegister);
  EXPECT_EQ(decoded(0x4dffb0a7).lane, 3);  // ld4 {v7.s-v10.s}[3], [x5], #16
  const Access st = decoded(0x0dbf1c21);   // st2 {v1.b, v2.b}[7], [x1], #2
  EXPECT_EQ(st.operation, Operation::StoreSingle);
  EXPECT_EQ(st.lane, 7);
  const Access r = decoded(0x4d40c800);  // ld1r {v0.4s}, [x0]
  EXPECT_EQ(r.operation, Operation::LoadReplicate);
  EXPECT_EQ(r.size, 4);
  EXPECT_EQ(r.vector_bytes, 16);
  const Access r4 = decoded(0x0d60e486);  // ld4r {v6.4h-v9.4h}, [x4]
  EXPECT_EQ(r4.structure_elements, 4);
  EXPECT_EQ(r4.vector_bytes, 8);
  EXPECT_EQ(r4.total_bytes, 8);
}

TEST(Arm64Decoder, DcZvaZeroesABlock) {
  const Access zva = decoded(0xd50b7420);  // dc zva, x0
  EXPECT_EQ(zva.operation, Operation::ZeroBlock);
  EXPECT_EQ(zva.rt, 0);
  EXPECT_TRUE(writes_memory(zva.operation));
  EXPECT_FALSE(reads_memory(zva.operation));
  EXPECT_EQ(status_of(0xd50b7e21), DecodeStatus::NotAccess);  // dc civac, x1
}

TEST(Arm64Decoder, LiteralLoadsAreNotTracedAccesses) {
  EXPECT_EQ(status_of(0x58000080), DecodeStatus::LiteralLoad);  // ldr x0, lit
  EXPECT_EQ(status_of(0x98000061), DecodeStatus::LiteralLoad);  // ldrsw x1, lit
  EXPECT_EQ(status_of(0x9c000042), DecodeStatus::LiteralLoad);  // ldr q2, lit
}

TEST(Arm64Decoder, PrefetchesAndOtherInstructionsAreNoAccess) {
  EXPECT_EQ(status_of(0xd8000020), DecodeStatus::NotAccess);  // prfm pldl1keep, lit
  EXPECT_EQ(status_of(0xf9800000), DecodeStatus::NotAccess);  // prfm pldl1keep, [x0]
  EXPECT_EQ(status_of(0xf8a16800), DecodeStatus::NotAccess);  // prfm pldl1keep, [x0, x1]
  EXPECT_EQ(status_of(0xf8801000), DecodeStatus::NotAccess);  // prfum pldl1keep, [x0, #1]
  EXPECT_EQ(status_of(0x8b020020), DecodeStatus::NotAccess);  // add x0, x1, x2
  EXPECT_EQ(status_of(0xd503201f), DecodeStatus::NotAccess);  // nop
  EXPECT_EQ(status_of(0x00000000), DecodeStatus::NotAccess);  // udf #0
}

TEST(Arm64Decoder, ClassesTheEmulatorLeavesAreUnsupported) {
  EXPECT_EQ(status_of(0xa400a020), DecodeStatus::Unsupported);  // ld1b {z0.b}, p0/z, [x1]
  EXPECT_EQ(status_of(0xf8200400), DecodeStatus::Unsupported);  // ldraa x0, [x0]
  EXPECT_EQ(status_of(0xd9200800), DecodeStatus::Unsupported);  // stg x0, [x0]
}

TEST(Arm64Decoder, DirectionOfEachOperation) {
  EXPECT_TRUE(reads_memory(Operation::AtomicOp) && writes_memory(Operation::AtomicOp));
  EXPECT_TRUE(reads_memory(Operation::CompareSwapPair) &&
              writes_memory(Operation::CompareSwapPair));
  EXPECT_FALSE(writes_memory(Operation::LoadExclusive));
  EXPECT_FALSE(reads_memory(Operation::StoreExclusive));
  EXPECT_FALSE(reads_memory(Operation::StoreSingle));
  EXPECT_FALSE(writes_memory(Operation::LoadReplicate));
}

}  // namespace
}  // namespace mmiotrace::arm64
