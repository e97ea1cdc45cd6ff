// The AArch64 emulator against the processor (AArch64 only; arm64_qemu_check.sh builds it
// with the cross compiler and runs it under qemu-aarch64 on x86-64): pseudo-random load/store
// words, each run natively from random registers on a buffer of random bytes, then emulated
// by arm64::emulate from the same registers and bytes. Every general register, every vector
// register and every byte of the buffer must match.
//
// Words are left out where the architecture leaves the result open or the harness cannot run
// them: SP or X30 named, and a base register that is also a data, status or offset register
// (CONSTRAINED UNPREDICTABLE). A word the processor faults on must be one the emulator
// reports as an alignment fault; the others must complete on both. Exclusives run one word at a
// time, after CLREX, so a store-exclusive fails on both sides; pairs of exclusives are
// arm64_emulator_test.cpp's.
//
// usage: arm64_qemu_check [WORDS]   (default 3000); prints the counts, exits 1 on a mismatch.
#include <sys/mman.h>
#include <unistd.h>

#include <csetjmp>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "arm64/emulator.hpp"

namespace {

using namespace mmiotrace::arm64;

constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr uint32_t kClrex = 0xd503305f;
constexpr uint32_t kRet = 0xd65f03c0;
constexpr uint32_t kDcZva = 0xd50b7420;

// Plain memory, one thread: what an alias is to the emulator.
class PlainMemory final : public Memory {
 public:
  MemoryStatus read(uint64_t address, unsigned width, uint8_t* out) override {
    std::memcpy(out, reinterpret_cast<const void*>(address), width);
    return MemoryStatus::Ok;
  }
  MemoryStatus write(uint64_t address, unsigned width, const uint8_t* in) override {
    std::memcpy(reinterpret_cast<void*>(address), in, width);
    return MemoryStatus::Ok;
  }
  MemoryStatus compare_exchange(uint64_t address, unsigned width, uint8_t* expected,
                                const uint8_t* desired) override {
    void* at = reinterpret_cast<void*>(address);
    if (std::memcmp(at, expected, width) != 0) {
      std::memcpy(expected, at, width);
      return MemoryStatus::Mismatch;
    }
    std::memcpy(at, desired, width);
    return MemoryStatus::Ok;
  }
  void report(Direction, uint64_t, unsigned, const uint8_t*) override {}
};

volatile uint32_t current_word;
sigjmp_buf word_fault;
volatile sig_atomic_t running_word = 0;

// A fault of the word under test ends it (its signal is the result); any other is the check's.
void on_fault(int signo) {
  if (running_word != 0) siglongjmp(word_fault, signo);
  char text[64];
  const int n = std::snprintf(text, sizeof text, "fault outside word %08x\n", current_word);
  (void)!write(2, text, static_cast<size_t>(n));
  _exit(2);
}

bool has_status_or_operand(Operation operation) {
  switch (operation) {
    case Operation::StoreExclusive:
    case Operation::StoreExclusivePair:
    case Operation::AtomicOp:
    case Operation::Swap:
    case Operation::CompareSwap:
    case Operation::CompareSwapPair:
      return true;
    default:
      return false;
  }
}

bool needs_alignment(const Access& a) {
  switch (a.operation) {
    case Operation::Load:
    case Operation::Store:
      return a.acquire || a.release;
    case Operation::LoadPair:
    case Operation::StorePair:
    case Operation::LoadMultiple:
    case Operation::StoreMultiple:
    case Operation::LoadSingle:
    case Operation::StoreSingle:
    case Operation::LoadReplicate:
    case Operation::ZeroBlock:
      return false;
    default:
      return true;
  }
}

// Whether the harness runs `a` (see the file's comment).
bool runnable(const Access& a) {
  if (a.operation == Operation::ZeroBlock) return a.rt < 30;
  if (a.rn >= 30) return false;
  const bool pair = a.operation == Operation::LoadPair || a.operation == Operation::StorePair ||
                    a.operation == Operation::LoadExclusivePair ||
                    a.operation == Operation::StoreExclusivePair;
  const bool register_pair = a.operation == Operation::CompareSwapPair;
  if (!a.vector) {
    if (a.rt == 30 || a.rt == a.rn || (pair && (a.rt2 == 30 || a.rt2 == a.rn))) return false;
    if (register_pair && (a.rt + 1 == a.rn || a.rs + 1 >= 30 || a.rs + 1 == a.rn)) return false;
    if ((a.operation == Operation::LoadPair || a.operation == Operation::LoadExclusivePair) &&
        a.rt == a.rt2) {
      return false;
    }
  }
  const bool offset_register =
      a.mode == AddressMode::RegisterOffset || a.mode == AddressMode::PostIndexRegister;
  if (offset_register && (a.rm == a.rn || a.rm == 30)) return false;
  if (has_status_or_operand(a.operation)) {
    if (a.rs == a.rn || a.rs == 30) return false;
    const bool store_exclusive =
        a.operation == Operation::StoreExclusive || a.operation == Operation::StoreExclusivePair;
    if (store_exclusive && (a.rs == a.rt || (pair && a.rs == a.rt2))) return false;
  }
  return true;
}

// A word to try: mostly random in the load/store space; now and then a DC ZVA or a CASP,
// which random words seldom are.
uint32_t next_word(std::mt19937_64& random) {
  const unsigned pick = random() % 64;
  const auto reg = [&] { return static_cast<uint32_t>(random() % 30); };
  if (pick == 0) return kDcZva | reg();
  if (pick == 1) {  // CASP{A}{L} with even Rs and Rt
    const uint32_t fields = static_cast<uint32_t>(random());
    return 0x08207c00 | (fields & 0x40408000) | ((reg() & ~1u) << 16) | (reg() << 5) |
           (reg() & ~1u);
  }
  return (static_cast<uint32_t>(random()) | (1u << 27)) & ~(1u << 25);
}

}  // namespace

extern "C" void run_word(State* state, const void* code);
static_assert(offsetof(State, v) == 272, "arm64_run_word.S's layout");

int main(int argc, char** argv) {
  const unsigned long wanted = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 3000;
  auto* buffer = static_cast<uint8_t*>(
      mmap(nullptr, kBufferBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* code = static_cast<uint32_t*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* initial = static_cast<uint8_t*>(std::malloc(kBufferBytes));
  auto* native_bytes = static_cast<uint8_t*>(std::malloc(kBufferBytes));
  if (buffer == MAP_FAILED || code == MAP_FAILED || initial == nullptr || !native_bytes) return 2;
  std::signal(SIGSEGV, on_fault);
  std::signal(SIGBUS, on_fault);
  uint64_t dczid = 0;
  asm volatile("mrs %0, dczid_el0" : "=r"(dczid));
  const unsigned zva_block = 4u << (dczid & 15);

  std::mt19937_64 random(21);
  for (size_t i = 0; i < kBufferBytes; ++i)
    initial[i] = static_cast<uint8_t>(random());
  unsigned long compared = 0, mismatches = 0, tried = 0, faulted = 0;
  unsigned long per_operation[32] = {};
  while (compared < wanted && tried++ < wanted * 1000) {
    const uint32_t word = next_word(random);
    Access a;
    if (decode(word, a) != DecodeStatus::Access || !runnable(a)) continue;

    State before{};
    for (uint64_t& x : before.x)
      x = random();
    for (auto& v : before.v) {
      for (uint8_t& byte : v)
        byte = static_cast<uint8_t>(random());
    }
    if (a.mode == AddressMode::RegisterOffset || a.mode == AddressMode::PostIndexRegister) {
      const uint64_t small = random() % 512;
      before.x[a.rm] = a.extend == Extend::Uxtw ? small / 2 : small - 256;
    }
    uint64_t address = reinterpret_cast<uint64_t>(buffer) + kBufferBytes / 2;
    if (!needs_alignment(a)) address += random() % 64;
    before.x[a.operation == Operation::ZeroBlock ? a.rt : a.rn] = address;
    if (a.operation == Operation::CompareSwap || a.operation == Operation::CompareSwapPair) {
      if (random() % 2 != 0) {  // a compare value that matches memory
        std::memcpy(&before.x[a.rs], initial + kBufferBytes / 2, 8);
        if (a.operation == Operation::CompareSwapPair) {
          std::memcpy(&before.x[a.rs + 1], initial + kBufferBytes / 2 + a.size, 8);
        }
      }
    }

    current_word = word;
    code[0] = kClrex;
    code[1] = word;
    code[2] = kRet;
    __builtin___clear_cache(reinterpret_cast<char*>(code), reinterpret_cast<char*>(code + 3));
    State native = before;
    std::memcpy(buffer, initial, kBufferBytes);
    int native_signal = sigsetjmp(word_fault, 1);
    if (native_signal == 0) {
      running_word = 1;
      run_word(&native, code);
    }
    running_word = 0;
    std::memcpy(native_bytes, buffer, kBufferBytes);

    std::memcpy(buffer, initial, kBufferBytes);
    State emulated = before;
    PlainMemory memory;
    ExclusiveMonitor monitor;
    const EmulationResult result = emulate(a, emulated, memory, monitor, zva_block);
    ++compared;
    ++per_operation[static_cast<int>(a.operation)];

    const char* what = nullptr;
    if (native_signal != 0) {  // the processor faulted: so must the emulator, changing nothing
      ++faulted;
      native = before;
      if (native_signal != SIGBUS || result.status != EmulationStatus::Alignment) {
        what = "fault";
      }
    } else if (result.status != EmulationStatus::Done) {
      what = "status";
    }
    for (unsigned r = 0; r < 30 && what == nullptr; ++r) {
      if (native.x[r] != emulated.x[r]) what = "general register";
    }
    if (result.status == EmulationStatus::Alignment) emulated.pc = before.pc;
    if (what == nullptr && std::memcmp(native.v, emulated.v, sizeof native.v) != 0) {
      what = "vector register";
    }
    if (what == nullptr && std::memcmp(native_bytes, buffer, kBufferBytes) != 0) {
      what = "memory";
    }
    if (what != nullptr && ++mismatches <= 20) {
      std::printf("mismatch: %08x (operation %d): %s\n", word, static_cast<int>(a.operation), what);
    }
  }
  std::printf(
      "words run natively and emulated: %lu (alignment faults: %lu), mismatches: %lu "
      "(DC ZVA block: %u bytes)\n",
      compared, faulted, mismatches, zva_block);
  std::printf("per operation (Operation order):");
  for (int i = 0; i <= static_cast<int>(Operation::ZeroBlock); ++i) {
    std::printf(" %lu", per_operation[i]);
  }
  std::printf("\n");
  return mismatches == 0 && compared == wanted ? 0 : 1;
}
