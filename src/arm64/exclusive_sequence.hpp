// mmiotrace: signal-safe
// An exclusive sequence carried out in one trap. A load-exclusive (LDXR, LDAXR and their pairs)
// on traced memory is emulated; but its store-exclusive would then run natively, with no
// exclusive monitor armed at its address, and fail without faulting (as qemu-user's always does,
// and a processor may), so that a retry loop never ends. So the engine goes on from the
// load-exclusive: the integer instructions a lock or atomic loop puts between the two (ADD/SUB,
// logical, moves, compares, conditional selects, branches, barriers) are interpreted here on the
// registers, up to the store-exclusive, which is emulated through the same Memory (so it
// succeeds iff the memory still holds what the load read: emulator.hpp). The sequence stops
// early, leaving the rest to run natively, at any other instruction, memory access or a
// branch back to a load-exclusive. Pure: code words come from the caller; any context.
#pragma once

#include <cstdint>

#include "arm64/emulator.hpp"

namespace mmiotrace::arm64 {

// Where the interpreter reads instruction words: false when `pc` cannot be read.
class CodeReader {
 public:
  virtual bool read(uint64_t pc, uint32_t* word) = 0;

 protected:
  ~CodeReader() = default;
};

inline constexpr unsigned kMaxSequenceInstructions = 64;

enum class SequenceEnd : uint8_t {
  StoreExclusive,  // the store-exclusive was emulated; pc is past it
  Stopped,         // an instruction not interpreted here is next, at pc: it runs natively
  Fault,           // the store-exclusive faulted (`fault`); registers as before it
};

struct SequenceResult {
  SequenceEnd end = SequenceEnd::Stopped;
  unsigned interpreted = 0;  // instructions interpreted (the store-exclusive included)
  EmulationResult fault;     // Fault, and an Alignment fault of the store-exclusive
};

// Interprets the instructions from state.pc on, at most `limit` of them, until one that accesses
// memory (decoded into `access`, state.pc at it): true then; false at an instruction not
// interpreted here, or past the limit. `interpreted`, when given, counts those interpreted.
// qemu-user reports the fault of a DC ZVA at an earlier instruction of its translation block, with
// the registers as they were there: the engine finds the access this way.
bool interpret_to_access(State& state, uint64_t& nzcv, CodeReader& code, ExclusiveMonitor& monitor,
                         unsigned limit, Access* access, unsigned* interpreted = nullptr);

// Runs from state.pc (just past an emulated load-exclusive) to its store-exclusive. `nzcv`
// holds the condition flags in bits 31:28, as PSTATE does.
SequenceResult run_exclusive_sequence(State& state, uint64_t& nzcv, CodeReader& code,
                                      Memory& memory, ExclusiveMonitor& monitor);

}  // namespace mmiotrace::arm64
