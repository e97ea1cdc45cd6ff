// mmiotrace: signal-safe
// The AArch64 emulator: carries out one decoded load/store against a plain register state and
// an abstract memory, as the hardware would, and reports each memory access it makes. It knows
// nothing of ucontext, signals or the engine: the caller copies the registers in and out of its
// signal frame, and its Memory makes the accesses (on an alias, or through a device model).
//
// Contract with the caller:
//   - The effective address is computed from the decoded registers, never from si_addr (qemu's
//     can be off). Bits 63:56 are cleared for the access (Linux runs EL0 with top-byte-ignore
//     for data); the base register keeps its tag on writeback.
//   - Every access goes through Memory, in the order the hardware makes them (ascending
//     addresses; the first register of a pair first), and each one made is reported once,
//     with its value, through Memory::report. A load's registers and any writeback change only
//     when every access succeeded; a store whose second access faults may have made the first
//     (as the architecture allows).
//   - Multiple-structure accesses are made one register's worth (8 or 16 bytes) at a time,
//     single-structure and replicate ones one element at a time, DC ZVA 16 bytes at a time.
//   - Atomics (LDADD..., SWP, CAS, CASP) are made with Memory::compare_exchange, looping until
//     it stores; they are reported as the read of the old value and, when it stored, the
//     write of the new one. A failed CAS reports its read only.
//   - Exclusives: LDXR/LDAXR (and pairs) are a load that arms the caller's per-thread
//     ExclusiveMonitor with (address, size, value). STXR/STLXR (and pairs) succeed (status 0)
//     iff the monitor is armed for the same address and size and a compare_exchange of the
//     monitored value with the new one stores; otherwise status 1 and nothing is written. The
//     monitor is cleared either way. An LDXR/STXR pair emulated across two traps thus behaves
//     as a pair: a store by another thread in between makes the STXR fail, except one that wrote
//     back the very value the LDXR read (the compare-and-swap's ABA), which a lock or counter
//     built on exclusives does not depend on.
//   - Misaligned exclusives, atomics and acquire/release loads and stores raise an alignment
//     fault (SIGBUS, BUS_ADRALN) before any access, as a processor without FEAT_LSE2 (and qemu)
//     does.
#pragma once

#include <cstdint>

#include "arm64/decoder.hpp"

namespace mmiotrace::arm64 {

inline constexpr unsigned kMaxAccessBytes = 16;  // one access: a Q register, a CASP/LDXP pair

// The registers an access reads and writes, independent of any signal frame layout.
struct State {
  uint64_t x[31] = {};  // X0-X30
  uint64_t sp = 0;
  uint64_t pc = 0;
  alignas(16) uint8_t v[32][16] = {};  // V0-V31, lane 0 at byte 0 (little-endian)
};

// The per-thread exclusive monitor the caller owns (one per thread, kept across traps).
struct ExclusiveMonitor {
  bool armed = false;
  uint8_t size = 0;  // bytes: the LDXR's access (both registers of a pair)
  uint64_t address = 0;
  uint8_t value[kMaxAccessBytes] = {};
};

enum class MemoryStatus : uint8_t {
  Ok,           // the access was made
  Mismatch,     // compare_exchange: nothing stored, `expected` now holds the bytes found
  Fault,        // the access faulted: the instruction raises the fault Memory recorded
  Unsupported,  // this memory cannot make the access (a compare_exchange on a device model)
};

enum class Direction : uint8_t { Read, Write };

// What the emulator asks of memory. Implemented by the caller, called on the emulating thread
// only, from the same context as emulate() (a signal handler in the tracer). `address` is the
// program's address; widths are 1 to kMaxAccessBytes.
class Memory {
 public:
  virtual MemoryStatus read(uint64_t address, unsigned width, uint8_t* out) = 0;
  virtual MemoryStatus write(uint64_t address, unsigned width, const uint8_t* in) = 0;
  // One atomic compare-and-exchange of `width` bytes (1, 2, 4, 8 or 16, naturally aligned).
  virtual MemoryStatus compare_exchange(uint64_t address, unsigned width, uint8_t* expected,
                                        const uint8_t* desired) = 0;
  // One access made, with the bytes it moved.
  virtual void report(Direction direction, uint64_t address, unsigned width,
                      const uint8_t* value) = 0;
  // The accesses that follow are made by the instruction at `pc` (called by what carries out
  // more than one instruction: exclusive_sequence.hpp). Nothing by default.
  virtual void at_instruction(uint64_t pc) { (void)pc; }

 protected:
  ~Memory() = default;
};

enum class EmulationStatus : uint8_t {
  Done,         // carried out: registers written back, pc advanced by 4
  Fault,        // a memory access faulted (`fault_address`); registers as before
  Alignment,    // a misaligned exclusive, atomic or acquire/release: SIGBUS at `fault_address`
  Unsupported,  // Memory could not make an access this needs; nothing done
};

struct EmulationResult {
  EmulationStatus status = EmulationStatus::Done;
  uint64_t fault_address = 0;
};

// Carries out `access` on `state`. `zero_block_bytes` is the DC ZVA block size (4 << DCZID_EL0.BS).
EmulationResult emulate(const Access& access, State& state, Memory& memory,
                        ExclusiveMonitor& monitor, unsigned zero_block_bytes);

// A full memory barrier: what an acquire load or release store orders itself with, and DMB/DSB.
void full_barrier();

// The address `access` accesses first, from the registers in `state` (tag bits included).
uint64_t effective_address(const Access& access, const State& state);

// `address` as the access reaches it: Linux runs EL0 with top-byte-ignore for data, so bits 63:56
// do not take part (they are bit 55's).
inline uint64_t untagged(uint64_t address) {
  return static_cast<uint64_t>(static_cast<int64_t>(address << 8) >> 8);
}

}  // namespace mmiotrace::arm64
