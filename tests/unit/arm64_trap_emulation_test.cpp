// Unit tests for arm64/trap_emulation's out-of-line execution (AArch64 only: it writes stubs
// and reads signal frames), and for arm64/signal_frame's copies of the V registers a trap names:
// starting an instruction out of line on a frame, and ending it at its stub's BRK or at its own
// fault, nested as a program's signal handlers nest them. The frames are made up, and nothing is
// executed: the tests play the processor's part.
#include "arm64/trap_emulation.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "arm64/guarded_access.hpp"
#include "arm64/signal_frame.hpp"

namespace mmiotrace::arm64 {
namespace {

// A traced page and its second mapping (two plain pages here), as the engine offers them.
class TwoPages final : public OperandMemory {
 public:
  TwoPages() {
    void* pages = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    traced_ = reinterpret_cast<uintptr_t>(pages);
    alias_ = traced_ + 4096;
  }
  ~TwoPages() { munmap(reinterpret_cast<void*>(traced_), 8192); }
  uintptr_t traced_page() const { return traced_; }
  uintptr_t alias_page() const { return alias_; }

  struct Made {
    AccessKind kind;
    uintptr_t address;
    size_t width;
    uint64_t value;
  };
  std::vector<Made> made;

  bool traced(uintptr_t address, size_t width) override {
    return address < traced_ + 4096 && address + width > traced_;
  }
  bool available(uintptr_t, size_t) override { return true; }
  int read(uintptr_t, size_t, uint8_t*) override { return kGuardedUnavailable; }
  int write(uintptr_t, size_t, const uint8_t*) override { return kGuardedUnavailable; }
  int compare_exchange(uintptr_t, size_t, uint8_t*, const uint8_t*) override { return -1; }
  uintptr_t direct_address(uintptr_t address, size_t width) override {
    if (address < traced_ || address + width > traced_ + 4096) return 0;
    return alias_ + (address - traced_);
  }
  void before(AccessKind, uintptr_t, size_t, const uint8_t*) override {}
  void after(AccessKind kind, uintptr_t address, size_t width, const uint8_t* value) override {
    uint64_t bytes = 0;
    std::memcpy(&bytes, value, width);
    made.push_back({kind, address, width, bytes});
  }
  size_t direct_run(uintptr_t, size_t, int64_t, size_t, uintptr_t*) override { return 0; }
  void report_direct(AccessKind, uintptr_t, size_t, const uint8_t*) override {}
  void set_reported_pc(uintptr_t) override {}

 private:
  uintptr_t traced_ = 0;
  uintptr_t alias_ = 0;
};

// The engine's side of the reports: the same memory, for any instruction.
class Reports final : public OutOfLineReports {
 public:
  explicit Reports(OperandMemory& memory) : memory_(memory) {}
  void report(uintptr_t pc, uintptr_t, void (*give)(OperandMemory&, void*),
              void* context) override {
    pcs.push_back(pc);
    give(memory_, context);
  }
  std::vector<uintptr_t> pcs;

 private:
  OperandMemory& memory_;
};

// `st64b x4, [x2]` (0xf83f9044) at a PC of its own: code the cache reads.
alignas(4) const uint32_t kStore64[] = {0xf83f9044, 0xf83f9044};

class Arm64OutOfLineTrap : public ::testing::Test {
 protected:
  // A frame stopped at `pc` with X2 = `base`, X4..X11 = 0x11 * (n + 1), SP = `sp`.
  static ucontext_t frame_at(uintptr_t pc, uintptr_t base, uint64_t sp) {
    ucontext_t uc;
    std::memset(&uc, 0, sizeof uc);
    uc.uc_mcontext.pc = pc;
    uc.uc_mcontext.sp = sp;
    uc.uc_mcontext.regs[2] = base;
    for (unsigned n = 0; n < 8; ++n)
      uc.uc_mcontext.regs[4 + n] = 0x1111111111111111ull * (n + 1);
    return uc;
  }
  static siginfo_t signal_info(int signo, uintptr_t address) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    info.si_signo = signo;
    info.si_addr = reinterpret_cast<void*>(address);
    return info;
  }
  const CachedInstruction& instruction(unsigned index) {
    const CachedInstruction* cached =
        cached_instruction(reinterpret_cast<uintptr_t>(&kStore64[index]));
    EXPECT_NE(cached, nullptr);
    EXPECT_NE(cached->out_of_line_stub, 0u);
    return *cached;
  }
  TwoPages pages_;
  Reports reports_{pages_};
  TrapEmulationState state_;
};

TEST_F(Arm64OutOfLineTrap, RunsOnTheSecondMappingAndComesBackAfterTheInstruction) {
  const CachedInstruction& store = instruction(0);
  const uintptr_t base = pages_.traced_page() + 0x40;
  ucontext_t uc = frame_at(store.instruction.pc, base, 0x7000);
  const TrapResult started = emulate_trap(store, uc, base, pages_, state_);
  ASSERT_EQ(started.status, TrapStatus::OutOfLine);
  EXPECT_EQ(uc.uc_mcontext.pc, store.out_of_line_stub);
  EXPECT_EQ(uc.uc_mcontext.regs[2], pages_.alias_page() + 0x40);
  EXPECT_TRUE(in_out_of_line_stub(uc.uc_mcontext.pc));

  // The stub's BRK, after the instruction.
  uc.uc_mcontext.pc = store.out_of_line_stub + 4;
  const OutOfLineOutcome ended =
      finish_out_of_line(SIGTRAP, signal_info(SIGTRAP, 0), uc, state_, reports_);
  EXPECT_TRUE(ended.ours);
  EXPECT_EQ(ended.signal, 0);
  EXPECT_EQ(uc.uc_mcontext.pc, store.instruction.pc + 4);
  EXPECT_EQ(uc.uc_mcontext.regs[2], base);
  ASSERT_EQ(reports_.pcs.size(), 1u);
  EXPECT_EQ(reports_.pcs[0], store.instruction.pc);
  ASSERT_EQ(pages_.made.size(), 8u);
  EXPECT_EQ(pages_.made[0].kind, AccessKind::Write);
  EXPECT_EQ(pages_.made[0].address, base);
  EXPECT_EQ(pages_.made[0].value, 0x1111111111111111ull);
  EXPECT_EQ(pages_.made[7].address, base + 56);
  EXPECT_EQ(pages_.made[7].value, 0x8888888888888888ull);
  // Nothing is pending any more: a second BRK there is not ours.
  uc.uc_mcontext.pc = store.out_of_line_stub + 4;
  EXPECT_FALSE(finish_out_of_line(SIGTRAP, signal_info(SIGTRAP, 0), uc, state_, reports_).ours);
}

TEST_F(Arm64OutOfLineTrap, ItsOwnFaultReachesTheProgramAtTheProgramsAddress) {
  const CachedInstruction& store = instruction(0);
  const uintptr_t base = pages_.traced_page() + 0x80;
  ucontext_t uc = frame_at(store.instruction.pc, base, 0x7000);
  ASSERT_EQ(emulate_trap(store, uc, base, pages_, state_).status, TrapStatus::OutOfLine);
  const OutOfLineOutcome faulted = finish_out_of_line(
      SIGBUS, signal_info(SIGBUS, pages_.alias_page() + 0x88), uc, state_, reports_);
  EXPECT_TRUE(faulted.ours);
  EXPECT_EQ(faulted.signal, SIGBUS);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(faulted.fault.si_addr), base + 8);
  EXPECT_EQ(uc.uc_mcontext.pc, store.instruction.pc);  // as before it ran
  EXPECT_EQ(uc.uc_mcontext.regs[2], base);
  EXPECT_TRUE(pages_.made.empty());
}

TEST_F(Arm64OutOfLineTrap, ExecutionsNestAndEndInTheirOwnOrder) {
  // The program's signal handler interrupts the first execution (at its stub) and runs the
  // same instruction on a lower SP, and another instruction lower still.
  const CachedInstruction& store = instruction(0);
  const CachedInstruction& other = instruction(1);
  const uintptr_t base = pages_.traced_page();
  ucontext_t outer = frame_at(store.instruction.pc, base, 0x9000);
  ucontext_t inner = frame_at(store.instruction.pc, base + 0x100, 0x8000);
  ucontext_t innermost = frame_at(other.instruction.pc, base + 0x200, 0x7000);
  ASSERT_EQ(emulate_trap(store, outer, base, pages_, state_).status, TrapStatus::OutOfLine);
  ASSERT_EQ(emulate_trap(store, inner, base + 0x100, pages_, state_).status, TrapStatus::OutOfLine);
  ASSERT_EQ(emulate_trap(other, innermost, base + 0x200, pages_, state_).status,
            TrapStatus::OutOfLine);
  for (ucontext_t* uc : {&innermost, &inner, &outer}) {
    uc->uc_mcontext.pc += 4;
    ASSERT_TRUE(finish_out_of_line(SIGTRAP, signal_info(SIGTRAP, 0), *uc, state_, reports_).ours);
  }
  EXPECT_EQ(innermost.uc_mcontext.regs[2], base + 0x200);
  EXPECT_EQ(inner.uc_mcontext.regs[2], base + 0x100);
  EXPECT_EQ(outer.uc_mcontext.regs[2], base);
  ASSERT_EQ(pages_.made.size(), 24u);
  EXPECT_EQ(pages_.made[0].address, base + 0x200);
  EXPECT_EQ(pages_.made[8].address, base + 0x100);
  EXPECT_EQ(pages_.made[16].address, base);
}

TEST_F(Arm64OutOfLineTrap, AnAbandonedExecutionIsTakenOverAndTooManyAreRefused) {
  const CachedInstruction& store = instruction(0);
  const uintptr_t base = pages_.traced_page();
  // Started and never ended (a handler of the program jumped out of it), then started again at
  // the same SP: the same entry serves, and one BRK ends it.
  ucontext_t first = frame_at(store.instruction.pc, base, 0x9000);
  ASSERT_EQ(emulate_trap(store, first, base, pages_, state_).status, TrapStatus::OutOfLine);
  ucontext_t again = frame_at(store.instruction.pc, base + 0x40, 0x9000);
  ASSERT_EQ(emulate_trap(store, again, base + 0x40, pages_, state_).status, TrapStatus::OutOfLine);
  again.uc_mcontext.pc += 4;
  ASSERT_TRUE(finish_out_of_line(SIGTRAP, signal_info(SIGTRAP, 0), again, state_, reports_).ours);
  EXPECT_EQ(again.uc_mcontext.regs[2], base + 0x40);
  // kMaxPendingOutOfLine at once, at different SPs; one more is refused with a reason.
  for (unsigned n = 0; n < kMaxPendingOutOfLine; ++n) {
    ucontext_t uc = frame_at(store.instruction.pc, base, 0x6000 - 0x100 * n);
    ASSERT_EQ(emulate_trap(store, uc, base, pages_, state_).status, TrapStatus::OutOfLine);
  }
  ucontext_t one_more = frame_at(store.instruction.pc, base, 0x1000);
  const TrapResult refused = emulate_trap(store, one_more, base, pages_, state_);
  EXPECT_EQ(refused.status, TrapStatus::Unsupported);
  ASSERT_NE(refused.reason, nullptr);
  EXPECT_NE(std::strstr(refused.reason, "nested"), nullptr) << refused.reason;
  EXPECT_EQ(one_more.uc_mcontext.pc, store.instruction.pc);  // untouched
}

TEST_F(Arm64OutOfLineTrap, ARangeWithoutASecondMappingIsRefused) {
  const CachedInstruction& store = instruction(0);
  // The last 32 bytes of the traced page: the 64-byte store would run past it.
  const uintptr_t base = pages_.traced_page() + 4096 - 32;
  ucontext_t uc = frame_at(store.instruction.pc, base, 0x9000);
  const TrapResult refused = emulate_trap(store, uc, base, pages_, state_);
  EXPECT_EQ(refused.status, TrapStatus::Unsupported);
  EXPECT_EQ(uc.uc_mcontext.pc, store.instruction.pc);
  EXPECT_EQ(uc.uc_mcontext.regs[2], base);
}

// A frame with an FP/SIMD record (V registers of 0x11 bytes) and live SVE state of 256-bit
// vectors (Z registers of 0xaa bytes), as the kernel lays them out.
struct FrameWithScalableState {
  static constexpr size_t kVectorBytes = 32;
  ucontext_t uc = {};
  FrameVectorRegisters* vectors = nullptr;
  uint8_t* z = nullptr;

  FrameWithScalableState() {
    auto* area = reinterpret_cast<uint8_t*>(uc.uc_mcontext.__reserved);
    vectors = reinterpret_cast<FrameVectorRegisters*>(area);
    vectors->magic = 0x46508001;  // FPSIMD_MAGIC
    vectors->size = sizeof(FrameVectorRegisters);
    std::memset(vectors->v, 0x11, sizeof(vectors->v));
    uint8_t* sve = area + sizeof(FrameVectorRegisters);
    const uint32_t sve_size = 16 + 32 * kVectorBytes + 17 * (kVectorBytes / 8);
    const uint32_t header[2] = {0x53564501, (sve_size + 15) / 16 * 16};  // SVE_MAGIC
    std::memcpy(sve, header, sizeof(header));
    const uint16_t vector_bytes = kVectorBytes;
    std::memcpy(sve + 8, &vector_bytes, sizeof(vector_bytes));
    z = sve + 16;
    std::memset(z, 0xaa, 32 * kVectorBytes);
    // The end record (magic 0) follows, zeroed.
  }
  const uint8_t* z_register(unsigned n) const { return z + n * kVectorBytes; }
};

TEST(Arm64SignalFrame, OnlyTheVectorRegistersAnAccessNamesAreCopiedInAndBack) {
  FrameWithScalableState frame;
  State state;
  std::memset(state.v, 0x55, sizeof(state.v));
  ASSERT_TRUE(load_state(frame.uc, state, (1u << 3) | (1u << 30)));
  EXPECT_EQ(state.v[3][0], 0x11);
  EXPECT_EQ(state.v[30][15], 0x11);
  EXPECT_EQ(state.v[4][0], 0x55);  // not named: not read
  std::memset(state.v[3], 0x33, 16);
  std::memset(state.v[4], 0x44, 16);
  store_state(state, frame.uc, 1u << 3);
  EXPECT_EQ(frame.vectors->v[3][7], 0x33);
  EXPECT_EQ(frame.vectors->v[4][7], 0x11);  // not named: left as it was
  // V3's Z register: its low 128 bits, the rest zeroed, as an FP/SIMD write leaves it.
  EXPECT_EQ(frame.z_register(3)[0], 0x33);
  EXPECT_EQ(frame.z_register(3)[15], 0x33);
  EXPECT_EQ(frame.z_register(3)[16], 0);
  EXPECT_EQ(frame.z_register(3)[31], 0);
  // The other Z registers keep all their bits.
  for (unsigned n : {0u, 2u, 4u, 30u, 31u}) {
    EXPECT_EQ(frame.z_register(n)[0], 0xaa) << n;
    EXPECT_EQ(frame.z_register(n)[31], 0xaa) << n;
  }
}

TEST(Arm64SignalFrame, AFrameWithoutVectorRegistersIsRefusedOnlyWhenSomeAreNamed) {
  ucontext_t uc = {};  // __reserved holds the end record only
  State state;
  EXPECT_TRUE(load_state(uc, state, 0));
  EXPECT_FALSE(load_state(uc, state, 1u << 0));
}

}  // namespace
}  // namespace mmiotrace::arm64
