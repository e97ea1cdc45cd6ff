// Unit tests for arm64/exclusive_sequence: an emulated load-exclusive's sequence carried out to
// its store-exclusive (succeeding, failing, faulting), the stops (another access, an unknown
// instruction, the limit), the integer instructions interpreted on the way, and the lead-in
// to an access that qemu-user reports early. Words are binutils' encodings of the instruction in
// each comment.
#include "arm64/exclusive_sequence.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arm64/decoder.hpp"

namespace mmiotrace::arm64 {
namespace {

constexpr uint64_t kData = 0x10000;
constexpr uint64_t kCode = 0x400000;
constexpr uint64_t kZ = uint64_t{1} << 30, kC = uint64_t{1} << 29;

// Instruction words at kCode.
class WordsAt final : public CodeReader {
 public:
  explicit WordsAt(std::vector<uint32_t> words) : words_(std::move(words)) {}
  bool read(uint64_t pc, uint32_t* word) override {
    if (pc < kCode || pc % 4 != 0 || (pc - kCode) / 4 >= words_.size()) return false;
    *word = words_[(pc - kCode) / 4];
    return true;
  }

 private:
  std::vector<uint32_t> words_;
};

// Eight bytes of memory at kData, with every access made recorded, and a fault on demand.
class Word final : public Memory {
 public:
  uint64_t value = 0;
  bool faults = false;
  std::vector<std::pair<Direction, uint64_t>> made;
  uint64_t instruction = 0;  // what at_instruction() said last

  MemoryStatus read(uint64_t address, unsigned width, uint8_t* out) override {
    if (faults || address != kData) return MemoryStatus::Fault;
    std::memcpy(out, &value, width);
    return MemoryStatus::Ok;
  }
  MemoryStatus write(uint64_t address, unsigned width, const uint8_t* in) override {
    if (faults || address != kData) return MemoryStatus::Fault;
    std::memcpy(&value, in, width);
    return MemoryStatus::Ok;
  }
  MemoryStatus compare_exchange(uint64_t address, unsigned width, uint8_t* expected,
                                const uint8_t* desired) override {
    if (faults || address != kData) return MemoryStatus::Fault;
    if (std::memcmp(&value, expected, width) != 0) {
      std::memcpy(expected, &value, width);
      return MemoryStatus::Mismatch;
    }
    std::memcpy(&value, desired, width);
    return MemoryStatus::Ok;
  }
  void at_instruction(uint64_t pc) override { instruction = pc; }
  void report(Direction direction, uint64_t, unsigned width, const uint8_t* bytes) override {
    uint64_t v = 0;
    std::memcpy(&v, bytes, width);
    made.emplace_back(direction, v);
  }
};

struct Sequence {
  State state;
  Word memory;
  ExclusiveMonitor monitor;
  uint64_t nzcv = 0;
  WordsAt code;

  explicit Sequence(std::vector<uint32_t> words) : code(std::move(words)) {
    state.pc = kCode;
    state.x[0] = kData;
  }
  // Emulates the load-exclusive at state.pc, as the engine does in the trap.
  void load_exclusive() {
    uint32_t word = 0;
    ASSERT_TRUE(code.read(state.pc, &word));
    Access access;
    ASSERT_EQ(decode(word, access), DecodeStatus::Access);
    ASSERT_EQ(emulate(access, state, memory, monitor, 64).status, EmulationStatus::Done);
  }
  SequenceResult run() { return run_exclusive_sequence(state, nzcv, code, memory, monitor); }
};

// ldxr w1, [x0]; add w1, w1, w2; stxr w3, w1, [x0]; cbnz w3, <ldxr>
const std::vector<uint32_t> kIncrement = {0x885f7c01, 0x0b020021, 0x88037c01, 0x35ffffa3};

TEST(Arm64ExclusiveSequence, AnIncrementLoopIsCarriedOutToItsStoreExclusive) {
  Sequence sequence(kIncrement);
  sequence.memory.value = 41;
  sequence.state.x[2] = 1;
  sequence.state.x[3] = 0x77;
  sequence.load_exclusive();
  const SequenceResult result = sequence.run();
  EXPECT_EQ(result.end, SequenceEnd::StoreExclusive);
  EXPECT_EQ(result.interpreted, 2u);
  EXPECT_EQ(sequence.state.pc, kCode + 12);  // the CBNZ runs natively
  EXPECT_EQ(sequence.state.x[3], 0u);        // stored
  EXPECT_EQ(sequence.memory.value, 42u);
  EXPECT_EQ(sequence.memory.instruction, kCode + 8);  // the STXR's write is the STXR's
  ASSERT_EQ(sequence.memory.made.size(), 2u);
  EXPECT_EQ(sequence.memory.made[0], std::make_pair(Direction::Read, uint64_t{41}));
  EXPECT_EQ(sequence.memory.made[1], std::make_pair(Direction::Write, uint64_t{42}));
}

TEST(Arm64ExclusiveSequence, TheStoreExclusiveFailsWhenMemoryChangedSinceTheLoad) {
  Sequence sequence(kIncrement);
  sequence.memory.value = 41;
  sequence.state.x[2] = 1;
  sequence.load_exclusive();
  sequence.memory.value = 100;  // another thread's store between the two
  const SequenceResult result = sequence.run();
  EXPECT_EQ(result.end, SequenceEnd::StoreExclusive);
  EXPECT_EQ(sequence.state.x[3], 1u);  // failed: the program's loop goes round again
  EXPECT_EQ(sequence.memory.value, 100u);
  EXPECT_EQ(sequence.state.pc, kCode + 12);
}

TEST(Arm64ExclusiveSequence, AFaultingStoreExclusiveStopsAtItWithTheRegistersBefore) {
  Sequence sequence(kIncrement);
  sequence.memory.value = 41;
  sequence.state.x[2] = 1;
  sequence.load_exclusive();
  sequence.memory.faults = true;
  const SequenceResult result = sequence.run();
  EXPECT_EQ(result.end, SequenceEnd::Fault);
  EXPECT_EQ(result.fault.status, EmulationStatus::Fault);
  EXPECT_EQ(result.fault.fault_address, kData);
  EXPECT_EQ(sequence.state.pc, kCode + 8);  // at the STXR, the ADD done
  EXPECT_EQ(sequence.state.x[1], 42u);
}

// ldaxr x1, [x0]; cmp x1, x2; b.ne <ldr>; stlxr w4, x3, [x0]; cbnz w4, <ldaxr>; ldr x5, [x6]
const std::vector<uint32_t> kCompareAndSwap = {0xc85ffc01, 0xeb02003f, 0x54000061,
                                               0xc804fc03, 0x35ffff84, 0xf94000c5};

TEST(Arm64ExclusiveSequence, ACompareAndSwapStoresOnlyWhatItCompared) {
  Sequence equal(kCompareAndSwap);
  equal.memory.value = 7;
  equal.state.x[2] = 7;
  equal.state.x[3] = 9;
  equal.load_exclusive();
  EXPECT_EQ(equal.run().end, SequenceEnd::StoreExclusive);
  EXPECT_EQ(equal.memory.value, 9u);
  EXPECT_EQ(equal.state.x[4], 0u);
  EXPECT_EQ(equal.nzcv, kZ | kC);  // CMP of equal values
  EXPECT_EQ(equal.state.pc, kCode + 16);

  Sequence different(kCompareAndSwap);
  different.memory.value = 7;
  different.state.x[2] = 8;
  different.state.x[3] = 9;
  different.load_exclusive();
  const SequenceResult result = different.run();
  EXPECT_EQ(result.end, SequenceEnd::Stopped);  // at the LDR after the B.NE: another access
  EXPECT_EQ(different.state.pc, kCode + 20);
  EXPECT_EQ(different.memory.value, 7u);
}

TEST(Arm64ExclusiveSequence, ALoopWithoutAnAccessStopsAtTheLimit) {
  // ldaxr w1, [x0]; cbnz w1, <b>; stxr w2, w3, [x0]; clrex; yield; b <cbnz>
  Sequence sequence({0x885ffc01, 0x35000081, 0x88027c03, 0xd5033f5f, 0xd503203f, 0x17fffffc});
  sequence.memory.value = 1;  // held: CBNZ and B go round for ever
  sequence.load_exclusive();
  const SequenceResult result = sequence.run();
  EXPECT_EQ(result.end, SequenceEnd::Stopped);
  EXPECT_EQ(result.interpreted, kMaxSequenceInstructions);
}

TEST(Arm64ExclusiveSequence, AnInstructionNotInterpretedStopsTheSequence) {
  // ldxr w1, [x0]; mul w1, w1, w2; stxr w3, w1, [x0]
  Sequence sequence({0x885f7c01, 0x1b027c21, 0x88037c01});
  sequence.memory.value = 3;
  sequence.load_exclusive();
  const SequenceResult result = sequence.run();
  EXPECT_EQ(result.end, SequenceEnd::Stopped);
  EXPECT_EQ(result.interpreted, 0u);
  EXPECT_EQ(sequence.state.pc, kCode + 4);  // the MUL runs natively
  EXPECT_TRUE(sequence.monitor.armed);
}

TEST(Arm64ExclusiveSequence, IntegerInstructionsAreInterpretedAsTheArchitectureSays) {
  WordsAt code({
      0x12001c21,  // and w1, w1, #0xff
      0xb2410042,  // orr x2, x2, #0x8000000000000000
      0xf2b7dde3,  // movk x3, #0xbeef, lsl #16
      0x52824684,  // mov w4, #0x1234
      0x92800005,  // mov x5, #-1
      0x9a820026,  // csel x6, x1, x2, eq
      0xb6f80042,  // tbz x2, #63, .+8
      0x1a9f17e7,  // cset w7, eq
      0xfa451824,  // ccmp x1, #5, #4, ne
      0xd10043ff,  // sub sp, sp, #16
      0xca021028,  // eor x8, x1, x2, lsl #4
      0x71000429,  // subs w9, w1, #1
      0xd5033bbf,  // dmb ish
      0xf94000c5,  // ldr x5, [x6]
  });
  State state;
  state.pc = kCode;
  state.x[1] = 0x1234;
  state.x[2] = 0x10;
  state.x[3] = 0x1111222233334444;
  state.x[7] = 0x99;
  state.sp = 0x8000;
  uint64_t nzcv = 0;
  ExclusiveMonitor monitor;
  Access access;
  ASSERT_TRUE(interpret_to_access(state, nzcv, code, monitor, 32, &access));
  EXPECT_EQ(access.operation, Operation::Load);
  EXPECT_EQ(state.pc, kCode + 13 * 4);
  EXPECT_EQ(state.x[1], 0x34u);
  EXPECT_EQ(state.x[2], 0x8000000000000010u);
  EXPECT_EQ(state.x[3], 0x11112222beef4444u);
  EXPECT_EQ(state.x[4], 0x1234u);
  EXPECT_EQ(state.x[5], ~uint64_t{0});
  EXPECT_EQ(state.x[6], 0x8000000000000010u);  // EQ false: the second source
  EXPECT_EQ(state.x[7], 0u);                   // TBZ not taken (bit 63 set); CSET EQ false
  EXPECT_EQ(state.sp, 0x7ff0u);
  EXPECT_EQ(state.x[8], 0x134u);  // the shift drops bit 63
  EXPECT_EQ(state.x[9], 0x33u);
  EXPECT_EQ(nzcv, kC);  // SUBS 0x34 - 1: no borrow
}

TEST(Arm64ExclusiveSequence, TheAccessAfterALeadInIsFound) {
  // mov x1, x19; add x1, x1, #0x80; dc zva, x1: qemu-user reports the DC ZVA's fault at the MOV.
  WordsAt code({0xaa1303e1, 0x91020021, 0xd50b7421});
  State state;
  state.pc = kCode;
  state.x[19] = 0x20000;
  uint64_t nzcv = 0;
  ExclusiveMonitor monitor;
  Access access;
  ASSERT_TRUE(interpret_to_access(state, nzcv, code, monitor, 16, &access));
  EXPECT_EQ(access.operation, Operation::ZeroBlock);
  EXPECT_EQ(state.pc, kCode + 8);
  EXPECT_EQ(state.x[1], 0x20080u);
  // Not past the limit.
  state.pc = kCode;
  EXPECT_FALSE(interpret_to_access(state, nzcv, code, monitor, 1, &access));
}

}  // namespace
}  // namespace mmiotrace::arm64
