// Unit tests for arm64/emulator: each load/store class carried out against a recorded memory,
// the registers it leaves (extension, W zeroing, XZR, SP, writeback, SIMD lanes), the accesses
// it makes and reports in order, its faults, and exclusives and atomics under several threads
// on real memory. Words are binutils' encodings of the instruction in each comment.
#include "arm64/emulator.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

namespace mmiotrace::arm64 {
namespace {

constexpr uint64_t kBase = 0x10000;
constexpr unsigned kZvaBlock = 64;

struct Report {
  Direction direction;
  uint64_t address;
  unsigned width;
  std::vector<uint8_t> value;

  uint64_t low() const {
    uint64_t v = 0;
    std::memcpy(&v, value.data(), value.size() < 8 ? value.size() : 8);
    return v;
  }
};

// A page of memory at kBase that records every call and can fault at one address.
class RecordedMemory final : public Memory {
 public:
  uint8_t bytes[4096] = {};
  std::vector<Report> reports;
  uint64_t fault_at = 0;
  bool exchange_unsupported = false;
  unsigned exchanges = 0;

  MemoryStatus read(uint64_t address, unsigned width, uint8_t* out) override {
    if (!reachable(address, width)) return MemoryStatus::Fault;
    std::memcpy(out, bytes + (address - kBase), width);
    return MemoryStatus::Ok;
  }
  MemoryStatus write(uint64_t address, unsigned width, const uint8_t* in) override {
    if (!reachable(address, width)) return MemoryStatus::Fault;
    std::memcpy(bytes + (address - kBase), in, width);
    return MemoryStatus::Ok;
  }
  MemoryStatus compare_exchange(uint64_t address, unsigned width, uint8_t* expected,
                                const uint8_t* desired) override {
    ++exchanges;
    if (exchange_unsupported) return MemoryStatus::Unsupported;
    if (!reachable(address, width)) return MemoryStatus::Fault;
    uint8_t* at = bytes + (address - kBase);
    if (std::memcmp(at, expected, width) != 0) {
      std::memcpy(expected, at, width);
      return MemoryStatus::Mismatch;
    }
    std::memcpy(at, desired, width);
    return MemoryStatus::Ok;
  }
  void report(Direction direction, uint64_t address, unsigned width,
              const uint8_t* value) override {
    reports.push_back({direction, address, width, std::vector<uint8_t>(value, value + width)});
  }

  template <typename T>
  void put(uint64_t address, T value) {
    std::memcpy(bytes + (address - kBase), &value, sizeof value);
  }
  template <typename T>
  T get(uint64_t address) const {
    T value;
    std::memcpy(&value, bytes + (address - kBase), sizeof value);
    return value;
  }

 private:
  bool reachable(uint64_t address, unsigned width) const {
    if (fault_at >= address && fault_at < address + width) return false;
    return address >= kBase && address + width <= kBase + sizeof bytes;
  }
};

struct Emulation {
  State state;
  RecordedMemory memory;
  ExclusiveMonitor monitor;

  Emulation() { state.pc = 0x400000; }

  EmulationResult run(uint32_t word) {
    Access access;
    EXPECT_EQ(decode(word, access), DecodeStatus::Access) << std::hex << word;
    return emulate(access, state, memory, monitor, kZvaBlock);
  }
  void done(uint32_t word) {
    const uint64_t pc = state.pc;
    EXPECT_EQ(run(word).status, EmulationStatus::Done) << std::hex << word;
    EXPECT_EQ(state.pc, pc + 4);
  }
};

TEST(Arm64Emulator, LoadZeroExtendsAWRegister) {
  Emulation e;
  e.state.x[0] = kBase;
  e.state.x[1] = ~uint64_t{0};
  e.memory.put<uint32_t>(kBase + 4, 0x89abcdef);
  e.done(0xb9400401);  // ldr w1, [x0, #4]
  EXPECT_EQ(e.state.x[1], 0x89abcdefu);
  ASSERT_EQ(e.memory.reports.size(), 1u);
  EXPECT_EQ(e.memory.reports[0].direction, Direction::Read);
  EXPECT_EQ(e.memory.reports[0].address, kBase + 4);
  EXPECT_EQ(e.memory.reports[0].width, 4u);
  EXPECT_EQ(e.memory.reports[0].low(), 0x89abcdefu);
}

TEST(Arm64Emulator, RegisterOffsetSignExtendsAndShiftsTheIndex) {
  Emulation e;
  e.state.x[2] = kBase + 0x100;
  e.state.x[3] = 0xffffffff'fffffffe;  // w3 = -2
  e.memory.put<uint32_t>(kBase + 0x100 - 8, 77);
  e.done(0xb863d841);  // ldr w1, [x2, w3, sxtw #2]
  EXPECT_EQ(e.state.x[1], 77u);
  EXPECT_EQ(e.memory.reports.at(0).address, kBase + 0xf8);
}

TEST(Arm64Emulator, PreIndexSignExtendingLoadWritesBackTheBase) {
  Emulation e;
  e.state.x[2] = kBase + 0x10;
  e.memory.put<int16_t>(kBase + 0xe, -300);
  e.done(0x789fec41);  // ldrsh x1, [x2, #-2]!
  EXPECT_EQ(static_cast<int64_t>(e.state.x[1]), -300);
  EXPECT_EQ(e.state.x[2], kBase + 0xe);
}

TEST(Arm64Emulator, PostIndexSignExtendsIntoAWRegister) {
  Emulation e;
  e.state.x[2] = kBase;
  e.memory.put<int8_t>(kBase, -1);
  e.done(0x38c01441);                    // ldrsb w1, [x2], #1
  EXPECT_EQ(e.state.x[1], 0xffffffffu);  // W result: upper half zero
  EXPECT_EQ(e.state.x[2], kBase + 1);
  EXPECT_EQ(e.memory.reports.at(0).address, kBase);
}

TEST(Arm64Emulator, StoresOfTheZeroRegister) {
  Emulation e;
  e.state.x[0] = kBase;
  e.state.x[1] = kBase + 0x20;
  e.memory.put<uint64_t>(kBase + 8, ~uint64_t{0});
  e.memory.put<uint8_t>(kBase + 0x20, 0xff);
  e.done(0xb900081f);  // str wzr, [x0, #8]
  e.done(0x3800143f);  // strb wzr, [x1], #1
  EXPECT_EQ(e.memory.get<uint64_t>(kBase + 8), 0xffffffff'00000000u);
  EXPECT_EQ(e.memory.get<uint8_t>(kBase + 0x20), 0);
  EXPECT_EQ(e.state.x[1], kBase + 0x21);
  ASSERT_EQ(e.memory.reports.size(), 2u);
  EXPECT_EQ(e.memory.reports[0].direction, Direction::Write);
  EXPECT_EQ(e.memory.reports[0].width, 4u);
  EXPECT_EQ(e.memory.reports[1].width, 1u);
}

TEST(Arm64Emulator, PairsAccessInAddressOrder) {
  Emulation e;
  e.state.x[3] = kBase;
  e.memory.put<uint64_t>(kBase + 16, 0x1111);
  e.memory.put<uint64_t>(kBase + 24, 0x2222);
  e.done(0xa9c10861);  // ldp x1, x2, [x3, #16]!
  EXPECT_EQ(e.state.x[1], 0x1111u);
  EXPECT_EQ(e.state.x[2], 0x2222u);
  EXPECT_EQ(e.state.x[3], kBase + 16);
  ASSERT_EQ(e.memory.reports.size(), 2u);
  EXPECT_EQ(e.memory.reports[0].address, kBase + 16);
  EXPECT_EQ(e.memory.reports[1].address, kBase + 24);

  e.state.x[1] = 0xaaaa'bbbb'cccc'dddd;
  e.state.x[2] = 7;
  e.state.x[3] = kBase + 0x40;
  e.done(0x28810861);  // stp w1, w2, [x3], #8
  EXPECT_EQ(e.memory.get<uint32_t>(kBase + 0x40), 0xccccddddu);
  EXPECT_EQ(e.memory.get<uint32_t>(kBase + 0x44), 7u);
  EXPECT_EQ(e.state.x[3], kBase + 0x48);
}

TEST(Arm64Emulator, LdpswSignExtendsBoth) {
  Emulation e;
  e.state.x[3] = kBase;
  e.memory.put<int32_t>(kBase, -5);
  e.memory.put<int32_t>(kBase + 4, 6);
  e.done(0x69400861);  // ldpsw x1, x2, [x3]
  EXPECT_EQ(static_cast<int64_t>(e.state.x[1]), -5);
  EXPECT_EQ(e.state.x[2], 6u);
}

TEST(Arm64Emulator, StackPointerBaseWithWriteback) {
  Emulation e;
  e.state.sp = kBase + 0x100;
  e.memory.put<uint64_t>(kBase + 0xf0, 1);
  e.memory.put<uint64_t>(kBase + 0xf8, 3);
  e.done(0xa9ff0fe1);  // ldp x1, x3, [sp, #-16]!
  EXPECT_EQ(e.state.sp, kBase + 0xf0);
  EXPECT_EQ(e.state.x[1], 1u);
  EXPECT_EQ(e.state.x[3], 3u);
}

TEST(Arm64Emulator, ALoadIntoItsOwnBaseKeepsTheLoadedValue) {
  Emulation e;
  e.state.x[0] = kBase;
  e.memory.put<uint64_t>(kBase, 0x1234);
  e.done(0xf8408400);  // ldr x0, [x0], #8 (CONSTRAINED UNPREDICTABLE: the load wins)
  EXPECT_EQ(e.state.x[0], 0x1234u);
}

TEST(Arm64Emulator, SimdLoadsZeroTheRestOfTheRegister) {
  Emulation e;
  e.state.x[1] = kBase;
  std::memset(e.state.v[1], 0xee, 16);
  for (unsigned i = 0; i < 16; ++i)
    e.memory.bytes[i] = static_cast<uint8_t>(i + 1);
  e.done(0x3dc00020);  // ldr q0, [x1]
  EXPECT_EQ(std::memcmp(e.state.v[0], e.memory.bytes, 16), 0);
  EXPECT_EQ(e.memory.reports.at(0).width, 16u);
  e.done(0xfd000421);  // str d1, [x1, #8]
  EXPECT_EQ(e.memory.get<uint64_t>(kBase + 8), 0xeeeeeeeeeeeeeeeeu);
  EXPECT_EQ(e.memory.get<uint64_t>(kBase), 0x0807060504030201u);
}

TEST(Arm64Emulator, FaultLeavesRegistersAsTheyWere) {
  Emulation e;
  e.state.x[3] = kBase;
  e.state.x[1] = 11;
  e.state.x[2] = 22;
  e.memory.fault_at = kBase + 24;
  const EmulationResult result = e.run(0xa9c10861);  // ldp x1, x2, [x3, #16]!
  EXPECT_EQ(result.status, EmulationStatus::Fault);
  EXPECT_EQ(result.fault_address, kBase + 24);
  EXPECT_EQ(e.state.x[1], 11u);
  EXPECT_EQ(e.state.x[2], 22u);
  EXPECT_EQ(e.state.x[3], kBase);
  EXPECT_EQ(e.state.pc, 0x400000u);
}

TEST(Arm64Emulator, TheAddressComesFromRegistersAndDropsTheTag) {
  Emulation e;
  e.state.x[0] = (uint64_t{0x5a} << 56) | kBase;
  e.memory.put<uint32_t>(kBase + 4, 9);
  e.done(0xb9400401);  // ldr w1, [x0, #4]
  EXPECT_EQ(e.state.x[1], 9u);
  EXPECT_EQ(e.memory.reports.at(0).address, kBase + 4);
}

TEST(Arm64Emulator, LseOperationsReturnTheOldValue) {
  struct Case {
    uint32_t word;
    uint64_t before, operand, after, loaded;
    unsigned width;
  };
  const Case cases[] = {
      {0xf8e30004, 40, 2, 42, 40, 8},                          // ldaddal x3, x4, [x0]
      {0x38211002, 0xff, 0x0f, 0xf0, 0xff, 1},                 // ldclrb w1, w2, [x0]
      {0xf8212002, 0xf0f0, 0xffff, 0x0f0f, 0xf0f0, 8},         // ldeor x1, x2, [x0]
      {0xb8213002, 0x100, 0x1, 0x101, 0x100, 4},               // ldset w1, w2, [x0]
      {0xb8214002, 0xfffffffe, 3, 3, 0xfffffffe, 4},           // ldsmax w1, w2, [x0]: -2 < 3
      {0xb8215002, 0xfffffffe, 3, 0xfffffffe, 0xfffffffe, 4},  // ldsmin w1, w2, [x0]
      {0xb8216002, 0xfffffffe, 3, 0xfffffffe, 0xfffffffe, 4},  // ldumax w1, w2, [x0]
      {0xf8217002, 9, 3, 3, 9, 8},                             // ldumin x1, x2, [x0]
      {0x78214002, 0x8000, 1, 1, 0x8000, 2},                   // ldsmaxh w1, w2, [x0]
      {0x78210002, 0xffff, 1, 0, 0xffff, 2},                   // ldaddh w1, w2, [x0]: wraps
      {0x78218002, 0x1234, 0x5678, 0x5678, 0x1234, 2},         // swph w1, w2, [x0]
  };
  for (const Case& c : cases) {
    Emulation e;
    e.state.x[0] = kBase;
    const unsigned rs = (c.word >> 16) & 31;
    const unsigned rt = c.word & 31;
    e.state.x[rs] = c.operand;
    e.state.x[rt] = ~uint64_t{0};
    e.memory.put<uint64_t>(kBase, c.before);
    e.done(c.word);
    uint64_t after = e.memory.get<uint64_t>(kBase);
    if (c.width < 8) after &= (uint64_t{1} << (8 * c.width)) - 1;
    EXPECT_EQ(after, c.after) << std::hex << c.word;
    EXPECT_EQ(e.state.x[rt], c.loaded) << std::hex << c.word;
    ASSERT_EQ(e.memory.reports.size(), 2u) << std::hex << c.word;
    EXPECT_EQ(e.memory.reports[0].direction, Direction::Read);
    EXPECT_EQ(e.memory.reports[0].low(), c.loaded);
    EXPECT_EQ(e.memory.reports[1].direction, Direction::Write);
    EXPECT_EQ(e.memory.reports[1].low(), c.after);
    EXPECT_EQ(e.memory.reports[1].width, c.width);
  }
}

TEST(Arm64Emulator, CompareAndSwapStoresOnlyOnAMatch) {
  Emulation e;
  e.state.x[0] = kBase;
  e.memory.put<uint64_t>(kBase, 5);
  e.state.x[1] = 4;
  e.state.x[2] = 99;
  e.done(0xc8a17c02);  // cas x1, x2, [x0]
  EXPECT_EQ(e.memory.get<uint64_t>(kBase), 5u);
  EXPECT_EQ(e.state.x[1], 5u);
  ASSERT_EQ(e.memory.reports.size(), 1u);
  EXPECT_EQ(e.memory.reports[0].direction, Direction::Read);
  e.done(0xc8a17c02);  // again, now expecting 5
  EXPECT_EQ(e.memory.get<uint64_t>(kBase), 99u);
  EXPECT_EQ(e.state.x[1], 5u);
  EXPECT_EQ(e.memory.reports.size(), 3u);
}

TEST(Arm64Emulator, CompareAndSwapPairIsOneSixteenByteExchange) {
  Emulation e;
  e.state.x[0] = kBase;
  e.memory.put<uint64_t>(kBase, 1);
  e.memory.put<uint64_t>(kBase + 8, 2);
  e.state.x[2] = 1;
  e.state.x[3] = 2;
  e.state.x[4] = 30;
  e.state.x[5] = 40;
  e.done(0x48227c04);  // casp x2, x3, x4, x5, [x0]
  EXPECT_EQ(e.memory.get<uint64_t>(kBase), 30u);
  EXPECT_EQ(e.memory.get<uint64_t>(kBase + 8), 40u);
  EXPECT_EQ(e.state.x[2], 1u);
  EXPECT_EQ(e.state.x[3], 2u);
  ASSERT_EQ(e.memory.reports.size(), 2u);
  EXPECT_EQ(e.memory.reports[1].width, 16u);
  EXPECT_EQ(e.memory.exchanges, 1u);
}

TEST(Arm64Emulator, MisalignedAtomicsRaiseAlignmentFaults) {
  Emulation e;
  e.state.x[0] = kBase + 4;
  const EmulationResult result = e.run(0xf8e30004);  // ldaddal x3, x4, [x0]
  EXPECT_EQ(result.status, EmulationStatus::Alignment);
  EXPECT_EQ(result.fault_address, kBase + 4);
  EXPECT_TRUE(e.memory.reports.empty());
  EXPECT_EQ(e.memory.exchanges, 0u);
}

TEST(Arm64Emulator, MisalignedAcquireAndReleaseRaiseAlignmentFaults) {
  Emulation e;
  e.state.x[0] = kBase + 2;
  EXPECT_EQ(e.run(0xc8dffc01).status, EmulationStatus::Alignment);  // ldar x1, [x0]
  e.state.x[0] = kBase + 3;
  EXPECT_EQ(e.run(0x599fe001).status, EmulationStatus::Alignment);  // ldapursh x1, [x0, #-2]
  EXPECT_TRUE(e.memory.reports.empty());
  e.state.x[0] = kBase + 4;
  EXPECT_EQ(e.run(0x889ffc1f).status, EmulationStatus::Done);  // stlr wzr, [x0]
  EXPECT_EQ(e.memory.reports.size(), 1u);
}

TEST(Arm64Emulator, AtomicsOnMemoryWithoutCompareExchangeAreUnsupported) {
  Emulation e;
  e.state.x[0] = kBase;
  e.memory.exchange_unsupported = true;
  EXPECT_EQ(e.run(0xf8e30004).status, EmulationStatus::Unsupported);  // ldaddal
  EXPECT_TRUE(e.memory.reports.empty());
  EXPECT_EQ(e.state.pc, 0x400000u);
}

TEST(Arm64Emulator, ExclusivePairSucceedsWhenMemoryIsUnchanged) {
  Emulation e;
  e.state.x[0] = kBase;
  e.memory.put<uint64_t>(kBase, 10);
  e.memory.put<uint64_t>(kBase + 8, 20);
  e.done(0xc87f0801);  // ldxp x1, x2, [x0]
  EXPECT_EQ(e.state.x[1], 10u);
  EXPECT_EQ(e.state.x[2], 20u);
  EXPECT_TRUE(e.monitor.armed);
  e.state.x[4] = 11;
  e.state.x[5] = 21;
  e.done(0xc8231404);  // stxp w3, x4, x5, [x0]
  EXPECT_EQ(e.state.x[3], 0u);
  EXPECT_EQ(e.memory.get<uint64_t>(kBase + 8), 21u);
  EXPECT_FALSE(e.monitor.armed);
}

TEST(Arm64Emulator, StoreExclusiveFailsAfterAnotherWrite) {
  Emulation e;
  e.state.x[0] = kBase;
  e.state.x[3] = 7;
  e.done(0x885ffc01);                // ldaxr w1, [x0]
  e.memory.put<uint32_t>(kBase, 1);  // another thread's store
  e.done(0x88027c03);                // stxr w2, w3, [x0]
  EXPECT_EQ(e.state.x[2], 1u);
  EXPECT_EQ(e.memory.get<uint32_t>(kBase), 1u);
  EXPECT_EQ(e.memory.reports.size(), 1u);  // the load only
}

TEST(Arm64Emulator, StoreExclusiveWithoutItsLoadFails) {
  Emulation e;
  e.state.x[0] = kBase;
  e.state.x[1] = kBase + 8;
  e.state.x[3] = 7;
  e.done(0x885ffc01);  // ldaxr w1, [x0]
  e.state.x[1] = kBase + 8;
  e.done(0x88027c23);  // stxr w2, w3, [x1]: another address
  EXPECT_EQ(e.state.x[2], 1u);
  EXPECT_EQ(e.memory.get<uint32_t>(kBase + 8), 0u);
  e.done(0x88027c03);  // stxr w2, w3, [x0]: the monitor was cleared
  EXPECT_EQ(e.state.x[2], 1u);
  EXPECT_EQ(e.memory.get<uint32_t>(kBase), 0u);
}

TEST(Arm64Emulator, AcquireAndRcpcLoads) {
  Emulation e;
  e.state.x[0] = kBase + 2;
  e.memory.put<int16_t>(kBase, -7);
  e.done(0x599fe001);  // ldapursh x1, [x0, #-2]
  EXPECT_EQ(static_cast<int64_t>(e.state.x[1]), -7);
  e.state.x[0] = kBase;
  e.done(0xc8dffc01);  // ldar x1, [x0]
  EXPECT_EQ(e.state.x[1], 0xfff9u);
}

TEST(Arm64Emulator, Ld2DeinterleavesAndPostIncrements) {
  Emulation e;
  e.state.x[0] = kBase;
  for (uint32_t i = 0; i < 8; ++i)
    e.memory.put<uint32_t>(kBase + 4 * i, i);
  e.done(0x4cdf8800);  // ld2 {v0.4s, v1.4s}, [x0], #32
  uint32_t v0[4], v1[4];
  std::memcpy(v0, e.state.v[0], 16);
  std::memcpy(v1, e.state.v[1], 16);
  for (uint32_t lane = 0; lane < 4; ++lane) {
    EXPECT_EQ(v0[lane], 2 * lane);
    EXPECT_EQ(v1[lane], 2 * lane + 1);
  }
  EXPECT_EQ(e.state.x[0], kBase + 32);
  ASSERT_EQ(e.memory.reports.size(), 2u);
  EXPECT_EQ(e.memory.reports[1].address, kBase + 16);
  EXPECT_EQ(e.memory.reports[1].width, 16u);
}

TEST(Arm64Emulator, St3InterleavesHalfVectors) {
  Emulation e;
  e.state.x[0] = kBase;
  for (unsigned r = 2; r <= 4; ++r) {
    for (unsigned lane = 0; lane < 16; ++lane) {
      e.state.v[r][lane] = static_cast<uint8_t>(r * 16 + lane);
    }
  }
  e.done(0x0c004002);  // st3 {v2.8b-v4.8b}, [x0]
  for (unsigned lane = 0; lane < 8; ++lane) {
    for (unsigned r = 0; r < 3; ++r) {
      EXPECT_EQ(e.memory.bytes[lane * 3 + r], (r + 2) * 16 + lane);
    }
  }
  EXPECT_EQ(e.memory.bytes[24], 0);
  EXPECT_EQ(e.memory.reports.size(), 3u);  // one 8-byte access per register
}

TEST(Arm64Emulator, Ld1MultipleWithRegisterPostIndex) {
  Emulation e;
  e.state.x[0] = kBase;
  e.state.x[1] = 100;
  for (unsigned i = 0; i < 32; ++i)
    e.memory.bytes[i] = static_cast<uint8_t>(i);
  e.done(0x4cc1a800);  // ld1 {v0.4s, v1.4s}, [x0], x1
  EXPECT_EQ(std::memcmp(e.state.v[0], e.memory.bytes, 16), 0);
  EXPECT_EQ(std::memcmp(e.state.v[1], e.memory.bytes + 16, 16), 0);
  EXPECT_EQ(e.state.x[0], kBase + 100);
}

TEST(Arm64Emulator, SingleStructureLanesLeaveTheOthers) {
  Emulation e;
  e.state.x[0] = kBase;
  for (unsigned r = 5; r <= 7; ++r)
    std::memset(e.state.v[r], 0xaa, 16);
  e.memory.put<uint16_t>(kBase, 0x1111);
  e.memory.put<uint16_t>(kBase + 2, 0x2222);
  e.memory.put<uint16_t>(kBase + 4, 0x3333);
  e.done(0x0d407005);  // ld3 {v5.h-v7.h}[2], [x0]
  uint16_t lanes[8];
  std::memcpy(lanes, e.state.v[6], 16);
  EXPECT_EQ(lanes[2], 0x2222);
  EXPECT_EQ(lanes[1], 0xaaaa);
  EXPECT_EQ(lanes[7], 0xaaaa);
  EXPECT_EQ(e.memory.reports.size(), 3u);

  std::memset(e.state.v[1], 0, 16);
  e.state.v[1][12] = 0x44;
  e.done(0x4d9f9001);  // st1 {v1.s}[3], [x0], #4
  EXPECT_EQ(e.memory.get<uint32_t>(kBase), 0x44u);
  EXPECT_EQ(e.state.x[0], kBase + 4);
}

TEST(Arm64Emulator, ReplicateFillsEveryLane) {
  Emulation e;
  e.state.x[0] = kBase;
  std::memset(e.state.v[0], 0xff, 16);
  e.memory.put<uint16_t>(kBase, 0xbeef);
  e.memory.put<uint16_t>(kBase + 2, 0xcafe);
  e.done(0x0d60c400);  // ld2r {v0.4h, v1.4h}, [x0]
  uint16_t v0[8], v1[8];
  std::memcpy(v0, e.state.v[0], 16);
  std::memcpy(v1, e.state.v[1], 16);
  for (unsigned lane = 0; lane < 4; ++lane) {
    EXPECT_EQ(v0[lane], 0xbeef);
    EXPECT_EQ(v1[lane], 0xcafe);
  }
  EXPECT_EQ(v0[4], 0);  // a 64-bit arrangement zeroes the upper half
  e.done(0x4ddfc002);   // ld1r {v2.16b}, [x0], #1
  for (unsigned lane = 0; lane < 16; ++lane)
    EXPECT_EQ(e.state.v[2][lane], 0xef);
  EXPECT_EQ(e.state.x[0], kBase + 1);
}

TEST(Arm64Emulator, DcZvaZeroesTheAlignedBlock) {
  Emulation e;
  std::memset(e.memory.bytes, 0x55, 256);
  e.state.x[0] = kBase + 64 + 17;
  e.done(0xd50b7420);  // dc zva, x0
  for (unsigned i = 0; i < 256; ++i) {
    EXPECT_EQ(e.memory.bytes[i], i >= 64 && i < 128 ? 0 : 0x55) << i;
  }
  ASSERT_EQ(e.memory.reports.size(), kZvaBlock / 16);
  EXPECT_EQ(e.memory.reports[0].address, kBase + 64);
  EXPECT_EQ(e.state.x[0], kBase + 81);
}

// Real memory, as an alias is: compare-and-exchange is the processor's. Loads and stores of 4
// and 8 bytes are single instructions, as the tracer's guarded accesses are (atomic, so that
// ThreadSanitizer sees device-like memory, not a C++ data race, in the threaded tests).
class SharedMemory final : public Memory {
 public:
  MemoryStatus read(uint64_t address, unsigned width, uint8_t* out) override {
    if (width == 4) return load<uint32_t>(address, out);
    if (width == 8) return load<uint64_t>(address, out);
    std::memcpy(out, reinterpret_cast<const void*>(address), width);
    return MemoryStatus::Ok;
  }
  MemoryStatus write(uint64_t address, unsigned width, const uint8_t* in) override {
    if (width == 4) return store<uint32_t>(address, in);
    if (width == 8) return store<uint64_t>(address, in);
    std::memcpy(reinterpret_cast<void*>(address), in, width);
    return MemoryStatus::Ok;
  }
  MemoryStatus compare_exchange(uint64_t address, unsigned width, uint8_t* expected,
                                const uint8_t* desired) override {
    if (width == 4) return exchange<uint32_t>(address, expected, desired);
    if (width == 8) return exchange<uint64_t>(address, expected, desired);
    return MemoryStatus::Unsupported;
  }
  void report(Direction, uint64_t, unsigned, const uint8_t*) override { ++reports; }

  unsigned long reports = 0;

 private:
  template <typename T>
  static MemoryStatus load(uint64_t address, uint8_t* out) {
    const T value = __atomic_load_n(reinterpret_cast<const T*>(address), __ATOMIC_RELAXED);
    std::memcpy(out, &value, sizeof value);
    return MemoryStatus::Ok;
  }
  template <typename T>
  static MemoryStatus store(uint64_t address, const uint8_t* in) {
    T value;
    std::memcpy(&value, in, sizeof value);
    __atomic_store_n(reinterpret_cast<T*>(address), value, __ATOMIC_RELAXED);
    return MemoryStatus::Ok;
  }
  template <typename T>
  static MemoryStatus exchange(uint64_t address, uint8_t* expected, const uint8_t* desired) {
    T want, next;
    std::memcpy(&want, expected, sizeof want);
    std::memcpy(&next, desired, sizeof next);
    if (__atomic_compare_exchange_n(reinterpret_cast<T*>(address), &want, next, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      return MemoryStatus::Ok;
    }
    std::memcpy(expected, &want, sizeof want);
    return MemoryStatus::Mismatch;
  }
};

// One thread's emulated core: runs words as the hardware would, one at a time.
struct Core {
  State state;
  SharedMemory memory;
  ExclusiveMonitor monitor;

  void run(uint32_t word) {
    Access access;
    ASSERT_EQ(decode(word, access), DecodeStatus::Access);
    ASSERT_EQ(emulate(access, state, memory, monitor, kZvaBlock).status, EmulationStatus::Done);
  }
};

// The threads of the tests below start together, and yield between the two halves of an
// exclusive pair, where the tracer takes two traps: the other threads get in between.
class StartLine {
 public:
  explicit StartLine(unsigned threads) : waiting_(threads) {}
  void arrive() {
    waiting_.fetch_sub(1);
    while (waiting_.load() != 0)
      std::this_thread::yield();
  }

 private:
  std::atomic<unsigned> waiting_;
};

// A spinlock as gcc builds one from exclusives, guarding a counter that is read and written
// with plain loads and stores: every increment must survive, under threads that race.
TEST(Arm64Emulator, ExclusiveSpinLockUnderThreads) {
  alignas(8) uint32_t lock = 0;
  alignas(8) uint64_t counter = 0;
  constexpr unsigned kThreads = 4;
  constexpr unsigned kRounds = 300;
  std::atomic<unsigned long> failed_stores{0};
  StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Core core;
      start.arrive();
      core.state.x[0] = reinterpret_cast<uint64_t>(&lock);
      core.state.x[5] = reinterpret_cast<uint64_t>(&counter);
      for (unsigned round = 0; round < kRounds; ++round) {
        for (;;) {
          core.run(0x885ffc01);  // ldaxr w1, [x0]
          std::this_thread::yield();
          if (core.state.x[1] != 0) continue;
          core.state.x[3] = 1;
          core.run(0x88027c03);  // stxr w2, w3, [x0]
          if (core.state.x[2] == 0) break;
          failed_stores.fetch_add(1, std::memory_order_relaxed);
        }
        core.run(0xf94000a4);  // ldr x4, [x5]
        core.state.x[4] += 1;
        if (round % 8 == 0) std::this_thread::yield();
        core.run(0xf90000a4);  // str x4, [x5]
        core.run(0x889ffc1f);  // stlr wzr, [x0]
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kRounds);
  EXPECT_EQ(lock, 0u);
  std::printf("exclusive lock: %u threads x %u rounds, %lu failed store-exclusives\n", kThreads,
              kRounds, failed_stores.load());
}

// A counter incremented by LDXR/ADD/STXR loops and by LDADDAL, on the same word.
TEST(Arm64Emulator, ExclusiveAndLseIncrementsUnderThreads) {
  alignas(8) uint64_t counter = 0;
  constexpr unsigned kThreads = 4;
  constexpr unsigned kRounds = 500;
  std::atomic<unsigned long> failed_stores{0};
  StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Core core;
      start.arrive();
      core.state.x[0] = reinterpret_cast<uint64_t>(&counter);
      for (unsigned round = 0; round < kRounds; ++round) {
        if ((t + round) % 2 == 0) {
          core.state.x[3] = 1;
          core.run(0xf8e30004);  // ldaddal x3, x4, [x0]
          continue;
        }
        do {
          core.run(0xc85f7c01);  // ldxr x1, [x0]
          core.state.x[1] += 1;
          std::this_thread::yield();
          core.run(0xc8027c01);  // stxr w2, x1, [x0]
          if (core.state.x[2] != 0) failed_stores.fetch_add(1, std::memory_order_relaxed);
        } while (core.state.x[2] != 0);
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kRounds);
  std::printf("exclusive and LSE counter: %u threads x %u rounds, %lu failed store-exclusives\n",
              kThreads, kRounds, failed_stores.load());
}

}  // namespace
}  // namespace mmiotrace::arm64
