// Unit tests for x86/decoder: what the tracer learns from an instruction's bytes, and the
// addresses and values it reads from a signal context.
#include "x86/decoder.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <initializer_list>
#include <vector>

namespace mmiotrace::x86 {
namespace {

Instruction decoded(std::initializer_list<uint8_t> bytes, uintptr_t pc = 0x401000) {
  std::vector<uint8_t> code(bytes);
  Instruction instruction;
  EXPECT_EQ(decode(code.data(), code.size(), pc, &instruction), DecodeResult::Ok);
  EXPECT_EQ(instruction.length, code.size());
  return instruction;
}

struct Expected {
  AccessKind kind;
  unsigned width;
  ValueRule rule;
};

void expect_access(const Instruction& instruction, Expected expected) {
  ASSERT_EQ(instruction.memory_operand_count, 1);
  EXPECT_EQ(instruction.memory[0].kind, expected.kind);
  EXPECT_EQ(instruction.memory[0].width, expected.width);
  EXPECT_EQ(instruction.value_rule, expected.rule);
}

TEST(Decoder, MovStoreFromRegister) {
  Instruction mov = decoded({0x89, 0x07});  // mov [rdi], eax
  expect_access(mov, {AccessKind::Write, 4, ValueRule::FromRegister});
  EXPECT_EQ(mov.value_register.greg, REG_RAX);
  EXPECT_EQ(mov.value_register.size, 4);
}

TEST(Decoder, MovLoadIntoRegister) {
  Instruction mov = decoded({0x48, 0x8b, 0x0f});  // mov rcx, [rdi]
  expect_access(mov, {AccessKind::Read, 8, ValueRule::FromRegister});
  EXPECT_EQ(mov.value_register.greg, REG_RCX);
}

TEST(Decoder, EveryWidthOfMov) {
  expect_access(decoded({0x88, 0x07}), {AccessKind::Write, 1, ValueRule::FromRegister});
  expect_access(decoded({0x66, 0x89, 0x07}), {AccessKind::Write, 2, ValueRule::FromRegister});
  expect_access(decoded({0x89, 0x07}), {AccessKind::Write, 4, ValueRule::FromRegister});
  expect_access(decoded({0x48, 0x89, 0x07}), {AccessKind::Write, 8, ValueRule::FromRegister});
}

TEST(Decoder, RexByteRegisterAndHighByteRegister) {
  Instruction sil = decoded({0x40, 0x88, 0x37});  // mov [rdi], sil
  EXPECT_EQ(sil.value_register.greg, REG_RSI);
  EXPECT_EQ(sil.value_register.shift, 0);
  Instruction ah = decoded({0x88, 0x27});  // mov [rdi], ah
  EXPECT_EQ(ah.value_register.greg, REG_RAX);
  EXPECT_EQ(ah.value_register.shift, 8);
}

TEST(Decoder, ImmediateStoresAreSignExtendedToTheirWidth) {
  Instruction byte = decoded({0xc6, 0x07, 0x5a});  // mov byte [rdi], 0x5a
  expect_access(byte, {AccessKind::Write, 1, ValueRule::FromImmediate});
  Instruction qword = decoded({0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff});  // mov qword [rdi], -1
  expect_access(qword, {AccessKind::Write, 8, ValueRule::FromImmediate});
  ucontext_t context = {};
  uint8_t value[8];
  ASSERT_TRUE(value_from_registers(qword, context, value));
  for (uint8_t byte_value : value)
    EXPECT_EQ(byte_value, 0xff);
}

TEST(Decoder, ZeroAndSignExtendingLoads) {
  expect_access(decoded({0x0f, 0xb6, 0x07}), {AccessKind::Read, 1, ValueRule::FromRegister});
  expect_access(decoded({0x0f, 0xb7, 0x07}), {AccessKind::Read, 2, ValueRule::FromRegister});
  expect_access(decoded({0x48, 0x0f, 0xbe, 0x07}), {AccessKind::Read, 1, ValueRule::FromRegister});
  expect_access(decoded({0x48, 0x0f, 0xbf, 0x07}), {AccessKind::Read, 2, ValueRule::FromRegister});
  expect_access(decoded({0x48, 0x63, 0x07}), {AccessKind::Read, 4, ValueRule::FromRegister});
}

TEST(Decoder, MovbeAndMovnti) {
  Instruction movbe_store = decoded({0x0f, 0x38, 0xf1, 0x07});  // movbe [rdi], eax
  expect_access(movbe_store, {AccessKind::Write, 4, ValueRule::FromRegister});
  EXPECT_TRUE(movbe_store.value_byte_swapped);
  Instruction movbe_load = decoded({0x48, 0x0f, 0x38, 0xf0, 0x07});  // movbe rax, [rdi]
  expect_access(movbe_load, {AccessKind::Read, 8, ValueRule::FromRegister});
  EXPECT_TRUE(movbe_load.value_byte_swapped);
  Instruction movnti = decoded({0x0f, 0xc3, 0x07});  // movnti [rdi], eax
  expect_access(movnti, {AccessKind::Write, 4, ValueRule::FromRegister});
  EXPECT_FALSE(movnti.value_byte_swapped);
}

TEST(Decoder, StosTakesItsValueFromTheAccumulator) {
  Instruction stosb = decoded({0xaa});
  expect_access(stosb, {AccessKind::Write, 1, ValueRule::FromRegister});
  EXPECT_TRUE(stosb.memory[0].hidden);
  EXPECT_EQ(stosb.value_register.greg, REG_RAX);
  EXPECT_FALSE(stosb.repeated);
  Instruction rep_stosq = decoded({0xf3, 0x48, 0xab});
  expect_access(rep_stosq, {AccessKind::Write, 8, ValueRule::FromRegister});
  EXPECT_TRUE(rep_stosq.repeated);
}

TEST(Decoder, MovWithAbsoluteAddress) {
  Instruction moffs = decoded({0x48, 0xa1, 0x00, 0x10, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00});
  expect_access(moffs, {AccessKind::Read, 8, ValueRule::FromRegister});
  ucontext_t context = {};
  EXPECT_EQ(effective_address(moffs, moffs.memory[0], context), 0x7f0000001000u);
}

TEST(Decoder, OtherInstructionsHaveAnAccessButNoValueRule) {
  expect_access(decoded({0xf0, 0x0f, 0xc1, 0x07}),  // lock xadd [rdi], eax
                {AccessKind::ReadWrite, 4, ValueRule::Unknown});
  expect_access(decoded({0x80, 0x78, 0xff, 0x00}),  // cmp byte [rax-1], 0
                {AccessKind::Read, 1, ValueRule::Unknown});
  expect_access(decoded({0xc5, 0xfe, 0x7f, 0x07}),  // vmovdqu [rdi], ymm0
                {AccessKind::Write, 32, ValueRule::Unknown});
}

TEST(Decoder, InstructionWithoutMemoryOperand) {
  Instruction nop = decoded({0x90});
  EXPECT_EQ(nop.memory_operand_count, 0);
}

TEST(Decoder, TruncatedAndInvalidBytes) {
  Instruction instruction;
  const uint8_t truncated[] = {0x48, 0x8b};
  EXPECT_EQ(decode(truncated, sizeof(truncated), 0, &instruction), DecodeResult::Unreadable);
  const uint8_t bad_lock[] = {0xf0, 0x90};  // lock nop is invalid
  EXPECT_EQ(decode(bad_lock, sizeof(bad_lock), 0, &instruction), DecodeResult::Invalid);
  EXPECT_EQ(instruction.length, 2);
  EXPECT_EQ(instruction.bytes[0], 0xf0);
}

TEST(Decoder, EffectiveAddressWithBaseIndexScaleAndDisplacement) {
  // movl $-1, 0x64(%r9,%rax,4)
  Instruction store = decoded({0x41, 0xc7, 0x44, 0x81, 0x64, 0xff, 0xff, 0xff, 0xff});
  ucontext_t context = {};
  context.uc_mcontext.gregs[REG_R9] = 0x10000;
  context.uc_mcontext.gregs[REG_RAX] = 3;
  EXPECT_EQ(effective_address(store, store.memory[0], context), 0x10000u + 0x64 + 12);
}

TEST(Decoder, RipRelativeAddressIsRelativeToTheNextInstruction) {
  Instruction load = decoded({0x8b, 0x05, 0x10, 0x00, 0x00, 0x00}, 0x401000);  // mov eax,[rip+16]
  EXPECT_TRUE(load.memory[0].address.rip_relative);
  ucontext_t context = {};
  EXPECT_EQ(effective_address(load, load.memory[0], context), 0x401000u + 6 + 0x10);
}

TEST(Decoder, AddressSizePrefixWrapsAt32Bits) {
  Instruction load = decoded({0x67, 0x8b, 0x47, 0x10});  // mov eax, [edi+0x10]
  ucontext_t context = {};
  context.uc_mcontext.gregs[REG_RDI] = static_cast<greg_t>(0x1fffffff8ull);
  EXPECT_EQ(effective_address(load, load.memory[0], context), 0x8u);
}

TEST(Decoder, ValuesComeFromTheNamedPartOfTheRegister) {
  Instruction store16 = decoded({0x66, 0x89, 0x0f});  // mov [rdi], cx
  ucontext_t context = {};
  context.uc_mcontext.gregs[REG_RCX] = static_cast<greg_t>(0x1122334455667788ull);
  uint8_t value[8] = {};
  ASSERT_TRUE(value_from_registers(store16, context, value));
  EXPECT_EQ(value[0], 0x88);
  EXPECT_EQ(value[1], 0x77);
  EXPECT_EQ(value[2], 0x00);

  Instruction movbe = decoded({0x0f, 0x38, 0xf1, 0x0f});  // movbe [rdi], ecx
  ASSERT_TRUE(value_from_registers(movbe, context, value));
  EXPECT_EQ(value[0], 0x55);
  EXPECT_EQ(value[3], 0x88);

  Instruction xadd = decoded({0xf0, 0x0f, 0xc1, 0x07});
  EXPECT_FALSE(value_from_registers(xadd, context, value));
}

TEST(Decoder, DecodeAtReadsCodeThatEndsAtAnUnmappedPage) {
  // An instruction in the last bytes of a page followed by an unmapped page: decode_at() must
  // read what is there without faulting.
  void* pages = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(munmap(static_cast<uint8_t*>(pages) + 4096, 4096), 0);
  uint8_t* end = static_cast<uint8_t*>(pages) + 4096;
  end[-2] = 0x89;  // mov [rdi], eax
  end[-1] = 0x07;
  Instruction instruction;
  EXPECT_EQ(decode_at(reinterpret_cast<uintptr_t>(end - 2), &instruction), DecodeResult::Ok);
  EXPECT_EQ(instruction.length, 2);
  end[-2] = 0x48;  // the first two bytes of mov rcx, [rdi]
  end[-1] = 0x8b;
  EXPECT_EQ(decode_at(reinterpret_cast<uintptr_t>(end - 2), &instruction),
            DecodeResult::Unreadable);
  munmap(pages, 4096);
}

}  // namespace
}  // namespace mmiotrace::x86
