// Unit tests for block translation into the code cache and for flag liveness: translated
// functions (tests/unit/translation_corpus.S) compute what the originals do; branches inside a
// block stay in the cache and the others leave through exit stubs; blocks end where they must;
// RIP-relative operands still reach their data; addresses map both ways; flags are live exactly
// where a later instruction may read them.
#include "codecache/block_translator.hpp"

#include <Zydis/Zydis.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "codecache/flag_liveness.hpp"
#include "x86/code_arena.hpp"

extern "C" {
uint64_t tc_sum_loop(const uint64_t* values, uint64_t count);
uint64_t tc_rip_relative(uint64_t index);
int64_t tc_clamp(int64_t value);
uint64_t tc_jump_table(uint64_t index);
uint64_t tc_calls_out(uint64_t value);
uint64_t tc_flags_across(uint64_t a, uint64_t b);
uint64_t tc_shift_by_cl(uint64_t value, uint64_t count);
uint64_t tc_loop_instruction(uint64_t count);
uint64_t tc_jump_out(uint64_t value);
}

namespace mmiotrace::codecache {
namespace {

template <typename Function>
BlockTranslation translate(Function* function) {
  const char* why = "";
  const BlockTranslation* block = translate_block(reinterpret_cast<uintptr_t>(function), &why);
  EXPECT_NE(block, nullptr) << why;
  return block != nullptr ? *block : BlockTranslation();
}

template <typename Function>
Function* translated(const BlockTranslation& block) {
  return reinterpret_cast<Function*>(block.code);
}

// Every relative branch of the translated instructions, as (where it is, where it goes).
std::vector<std::pair<uintptr_t, uintptr_t>> branches_of(const BlockTranslation& block) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::vector<std::pair<uintptr_t, uintptr_t>> branches;
  auto base = reinterpret_cast<uintptr_t>(block.code);
  for (size_t offset = 0; offset < block.body_size;) {
    ZydisDecodedInstruction instruction;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, block.code + offset,
                                             block.body_size - offset, &instruction, operands))) {
      ADD_FAILURE() << "undecodable translation at +" << offset;
      break;
    }
    if (instruction.attributes & ZYDIS_ATTRIB_IS_RELATIVE &&
        operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      uint64_t target =
          base + offset + instruction.length + static_cast<uint64_t>(operands[0].imm.value.s);
      branches.emplace_back(base + offset, target);
    }
    offset += instruction.length;
  }
  return branches;
}

bool in_body(const BlockTranslation& block, uintptr_t address) {
  auto base = reinterpret_cast<uintptr_t>(block.code);
  return address >= base && address < base + block.body_size;
}

bool in_exit_stubs(const BlockTranslation& block, uintptr_t address) {
  auto base = reinterpret_cast<uintptr_t>(block.code);
  return address >= base + block.body_size && address < base + block.code_size;
}

TEST(BlockTranslator, LoopRunsInTheCacheAndSumsAsTheOriginal) {
  BlockTranslation block = translate(tc_sum_loop);
  EXPECT_EQ(block.ended_by, BlockEnd::Return);
  EXPECT_EQ(block.instruction_count, 8);
  EXPECT_EQ(block.exit_count, 0);  // every branch goes to an instruction of the block
  for (auto [from, to] : branches_of(block)) {
    EXPECT_TRUE(in_body(block, to)) << std::hex << from << " -> " << to;
    EXPECT_NE(block.original_pc(to), 0u);
  }
  std::vector<uint64_t> values(1000);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = i * i + 7;
  auto* sum = translated<decltype(tc_sum_loop)>(block);
  for (uint64_t count : {0ul, 1ul, 2ul, 999ul, 1000ul}) {
    EXPECT_EQ(sum(values.data(), count), tc_sum_loop(values.data(), count)) << count;
  }
}

TEST(BlockTranslator, RipRelativeOperandsStillReachTheirData) {
  BlockTranslation block = translate(tc_rip_relative);
  EXPECT_EQ(block.ended_by, BlockEnd::Return);
  auto* function = translated<decltype(tc_rip_relative)>(block);
  for (uint64_t index = 0; index < 4; ++index) {
    uint64_t expected = tc_rip_relative(index);
    EXPECT_EQ(expected, (index + 1) * 100 + 200 + 1);
    EXPECT_EQ(function(index), expected) << index;
  }
  // The cache sits within a rel32 of the code it came from.
  auto code = reinterpret_cast<uintptr_t>(block.code);
  auto original = reinterpret_cast<uintptr_t>(&tc_rip_relative);
  EXPECT_LE(code > original ? code - original : original - code, x86::kNearReach);
}

TEST(BlockTranslator, ForwardBranchesJoinInsideTheBlock) {
  // The jump over the else and the ret in the middle do not end the block: branches before
  // them go past them.
  BlockTranslation block = translate(tc_clamp);
  EXPECT_EQ(block.ended_by, BlockEnd::Return);
  EXPECT_EQ(block.instruction_count, 9);
  EXPECT_EQ(block.exit_count, 0);
  auto* clamp = translated<decltype(tc_clamp)>(block);
  for (int64_t value : {-1000L, -101L, -100L, -99L, 0L, 99L, 100L, 101L, 5000L}) {
    EXPECT_EQ(clamp(value), tc_clamp(value)) << value;
  }
}

TEST(BlockTranslator, AnIndirectJumpEndsTheBlockAndLeavesTheCache) {
  BlockTranslation block = translate(tc_jump_table);
  EXPECT_EQ(block.ended_by, BlockEnd::IndirectBranch);
  EXPECT_EQ(block.instruction_count, 5);
  auto* function = translated<decltype(tc_jump_table)>(block);
  for (uint64_t index = 0; index < 8; ++index)
    EXPECT_EQ(function(index), 10 + index % 4);
}

TEST(BlockTranslator, ACallEndsTheBlockAndRunsInPlace) {
  BlockTranslation block = translate(tc_calls_out);
  EXPECT_EQ(block.ended_by, BlockEnd::Call);
  EXPECT_EQ(block.instruction_count, 3);  // push, lea, mov
  EXPECT_EQ(block.exit_count, 1);
  auto* function = translated<decltype(tc_calls_out)>(block);
  for (uint64_t value : {0ul, 1ul, 41ul})
    EXPECT_EQ(function(value), tc_calls_out(value));
  EXPECT_EQ(tc_calls_out(41), 42u * 3);
}

TEST(BlockTranslator, LoopInstructionsAreLeftToRunInPlace) {
  BlockTranslation block = translate(tc_loop_instruction);
  EXPECT_EQ(block.ended_by, BlockEnd::Unsupported);
  EXPECT_EQ(block.instruction_count, 5);  // mov, xor, test, je, add
  auto* function = translated<decltype(tc_loop_instruction)>(block);
  for (uint64_t count : {0ul, 1ul, 10ul})
    EXPECT_EQ(function(count), 3 * count);
}

TEST(BlockTranslator, AJumpOutOfTheBlockLeavesThroughAnExitStub) {
  BlockTranslation block = translate(tc_jump_out);
  EXPECT_EQ(block.ended_by, BlockEnd::Jump);
  EXPECT_EQ(block.exit_count, 1);
  auto branches = branches_of(block);
  ASSERT_EQ(branches.size(), 1u);
  EXPECT_TRUE(in_exit_stubs(block, branches[0].second));
  auto* function = translated<decltype(tc_jump_out)>(block);
  EXPECT_EQ(function(1), tc_jump_out(1));
  EXPECT_EQ(tc_jump_out(1), 12u);
}

TEST(BlockTranslator, FlagsSurviveTheTranslation) {
  auto* across = translated<decltype(tc_flags_across)>(translate(tc_flags_across));
  EXPECT_EQ(across(1, 2), tc_flags_across(1, 2));
  EXPECT_EQ(across(2, 1), tc_flags_across(2, 1));
  EXPECT_EQ(tc_flags_across(1, 2), 1003u);
  auto* shift = translated<decltype(tc_shift_by_cl)>(translate(tc_shift_by_cl));
  for (uint64_t value : {6ul, 7ul}) {
    for (uint64_t count : {0ul, 1ul}) {
      EXPECT_EQ(shift(value, count), tc_shift_by_cl(value, count)) << value << " " << count;
    }
  }
  EXPECT_EQ(tc_shift_by_cl(7, 0), 1u);  // ZF of the compare, through a shift by 0
}

TEST(BlockTranslator, AddressesMapBothWays) {
  BlockTranslation block = translate(tc_clamp);
  for (size_t i = 0; i < block.instruction_count; ++i) {
    uintptr_t original = block.start + block.instructions[i].original_offset;
    uintptr_t cache = block.cache_pc(original);
    ASSERT_NE(cache, 0u);
    EXPECT_EQ(block.original_pc(cache), original);
    uint32_t next =
        i + 1 < block.instruction_count ? block.instructions[i + 1].cache_offset : block.body_size;
    if (next > block.instructions[i].cache_offset + 1u) {
      EXPECT_EQ(block.original_pc(cache + 1), original) << "inside an instruction";
    }
  }
  EXPECT_EQ(block.cache_pc(block.start + 1), 0u);  // not an instruction boundary
  EXPECT_EQ(block.cache_pc(block.end), 0u);
  EXPECT_EQ(block.original_pc(reinterpret_cast<uintptr_t>(block.code) + block.body_size), 0u);
}

// Status flags live before each instruction of a translated function.
std::vector<uint32_t> live_flags(const BlockTranslation& block) {
  std::vector<uint32_t> live;
  for (size_t i = 0; i < block.instruction_count; ++i)
    live.push_back(block.instructions[i].live_flags);
  return live;
}

constexpr uint32_t kCF = 1, kZF = 1 << 6;

TEST(FlagLiveness, CarryLivesFromTheCompareToTheAdc) {
  // cmp, mov, lea, mov $0, adc, ret: at ret (leaving the block) every flag counts as live.
  BlockTranslation block = translate(tc_flags_across);
  EXPECT_EQ(live_flags(block), (std::vector<uint32_t>{0, kCF, kCF, kCF, kCF, kStatusFlags}));
}

TEST(FlagLiveness, AShiftByClDoesNotKillTheFlags) {
  // mov, cmp, shl %cl, mov $0, sete, ret.
  BlockTranslation block = translate(tc_shift_by_cl);
  std::vector<uint32_t> live = live_flags(block);
  ASSERT_EQ(live.size(), 6u);
  EXPECT_EQ(live[1], 0u) << "the compare defines every status flag";
  EXPECT_EQ(live[2], kStatusFlags) << "through the shift, whatever is live after it";
}

TEST(FlagLiveness, BackEdgesCarryLivenessAroundTheLoop) {
  // 0: cmp (defines all)  1: jne -> 0 or on  2: add (defines all)  3: jmp -> 1
  // The jump to 1 makes ZF (read by jne) live at 3, and 2's add kills it before that.
  FlagUse uses[4] = {{0, kStatusFlags}, {kZF, 0}, {0, kStatusFlags}, {0, 0}};
  FlagSuccessors successors[4];
  successors[1].branch_target = 0;
  successors[3].falls_through = false;
  successors[3].branch_target = 1;
  uint32_t live[4];
  compute_live_flags(uses, successors, 4, live);
  EXPECT_EQ(live[0], 0u);
  EXPECT_EQ(live[1], kZF);
  EXPECT_EQ(live[2], 0u);
  EXPECT_EQ(live[3], kZF);
  // Leaving the block makes every flag live.
  successors[3].leaves_block = true;
  compute_live_flags(uses, successors, 4, live);
  EXPECT_EQ(live[3], kStatusFlags);
}

TEST(FlagLiveness, FlagUseOfInstructions) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  auto use_of = [&](std::vector<uint8_t> bytes) {
    ZydisDecodedInstruction instruction;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    EXPECT_TRUE(ZYAN_SUCCESS(
        ZydisDecoderDecodeFull(&decoder, bytes.data(), bytes.size(), &instruction, operands)));
    return flag_use(instruction, operands);
  };
  FlagUse add = use_of({0x48, 0x01, 0xd8});  // add %rbx, %rax
  EXPECT_EQ(add.read, 0u);
  EXPECT_EQ(add.defined, kStatusFlags);
  FlagUse adc = use_of({0x48, 0x11, 0xd8});  // adc %rbx, %rax
  EXPECT_EQ(adc.read, kCF);
  FlagUse mov = use_of({0x48, 0x89, 0xd8});  // mov %rbx, %rax
  EXPECT_EQ(mov.read | mov.defined, 0u);
  EXPECT_EQ(use_of({0x48, 0xd3, 0xe0}).defined, 0u);              // shl %cl, %rax
  EXPECT_NE(use_of({0x48, 0xc1, 0xe0, 0x03}).defined & kCF, 0u);  // shl $3, %rax
  EXPECT_EQ(use_of({0x48, 0xc1, 0xe0, 0x40}).defined, 0u);        // shl $64, %rax: masked to 0
  EXPECT_EQ(use_of({0xf3, 0xa6}).defined, 0u);                    // repe cmpsb: RCX may be 0
  EXPECT_EQ(use_of({0xa6}).defined, kStatusFlags);                // cmpsb
  EXPECT_EQ(use_of({0x0f, 0x94, 0xc0}).read, kZF);                // sete %al
  EXPECT_EQ(use_of({0x9c}).read, kStatusFlags);                   // pushfq
}

// Code at the very end of a readable page, with nothing mapped after it.
TEST(BlockTranslator, CodeBeforeAnUnmappedPageEndsTheBlockThere) {
  long page = sysconf(_SC_PAGESIZE);
  auto* memory = static_cast<uint8_t*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE | PROT_EXEC,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(memory, MAP_FAILED);
  ASSERT_EQ(munmap(memory + page, page), 0);
  const uint8_t code[] = {0x48, 0x31, 0xc0, 0x48, 0xff, 0xc0};  // xor %rax,%rax; inc %rax
  uint8_t* start = memory + page - sizeof(code);
  std::memcpy(start, code, sizeof(code));
  const char* why = "";
  const BlockTranslation* block = translate_block(reinterpret_cast<uintptr_t>(start), &why);
  ASSERT_NE(block, nullptr) << why;
  EXPECT_EQ(block->ended_by, BlockEnd::Unreadable);
  EXPECT_EQ(block->instruction_count, 2);
  EXPECT_EQ(block->end, reinterpret_cast<uintptr_t>(memory + page));
  ASSERT_EQ(mprotect(memory, page, PROT_NONE), 0);
  EXPECT_EQ(translate_block(reinterpret_cast<uintptr_t>(start), &why), nullptr);
  EXPECT_STREQ(why, "its code cannot be read");
  munmap(memory, page);
}

TEST(BlockTranslator, AnInstructionThatMustRunInPlaceCannotStartABlock) {
  const uint8_t syscall_code[] = {0x0f, 0x05, 0xc3};
  auto* memory = static_cast<uint8_t*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(memory, MAP_FAILED);
  std::memcpy(memory, syscall_code, sizeof(syscall_code));
  const char* why = "";
  EXPECT_EQ(translate_block(reinterpret_cast<uintptr_t>(memory), &why), nullptr);
  EXPECT_STREQ(why, "its first instruction must run in place");
  munmap(memory, 4096);
}

}  // namespace
}  // namespace mmiotrace::codecache
