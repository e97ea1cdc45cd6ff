// mmiotrace: signal-safe
// The AArch64 emulator: one function per family of operations (single and pair registers,
// exclusives, atomics, SIMD&FP structures, DC ZVA), each making its accesses through Memory and
// committing registers only once they all succeeded. See emulator.hpp for the contract.
#include "arm64/emulator.hpp"

#include <atomic>
#include <cstring>

#include "core/small_copy.hpp"

namespace mmiotrace::arm64 {
namespace {

// Up to the largest memory a single instruction touches: LD4/ST4 of four Q registers.
constexpr unsigned kMaxInstructionBytes = 64;

uint64_t general(const State& state, unsigned n) {
  return n == kZeroRegister ? 0 : state.x[n];
}

void set_general(State& state, unsigned n, uint64_t value) {
  if (n != kZeroRegister) state.x[n] = value;
}

uint64_t base_register(const State& state, unsigned n) {
  return n == kStackPointer ? state.sp : state.x[n];
}

void set_base_register(State& state, unsigned n, uint64_t value) {
  (n == kStackPointer ? state.sp : state.x[n]) = value;
}

uint64_t little_endian(const uint8_t* bytes, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = width > 8 ? 8 : width; i-- > 0;)
    value = (value << 8) | bytes[i];
  return value;
}

void put_little_endian(uint64_t value, uint8_t* bytes, unsigned width) {
  for (unsigned i = 0; i < width; ++i) {
    bytes[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

uint64_t truncated(uint64_t value, unsigned bytes) {
  return bytes >= 8 ? value : value & ((uint64_t{1} << (8 * bytes)) - 1);
}

int64_t sign_extended(uint64_t value, unsigned bytes) {
  if (bytes >= 8) return static_cast<int64_t>(value);
  const uint64_t sign = uint64_t{1} << (8 * bytes - 1);
  return static_cast<int64_t>((truncated(value, bytes) ^ sign) - sign);
}

// The value a general-purpose load leaves in its register.
uint64_t loaded_value(const Access& access, const uint8_t* bytes) {
  uint64_t value = little_endian(bytes, access.size);
  if (access.sign_extend) value = static_cast<uint64_t>(sign_extended(value, access.size));
  return truncated(value, access.register_bytes);
}

void load_vector(State& state, unsigned n, const uint8_t* bytes, unsigned width) {
  std::memset(state.v[n], 0, sizeof state.v[n]);
  copy_small(state.v[n], bytes, width);
}

// The bytes a store of register `n` (of `access`'s file and size) writes.
void stored_bytes(const Access& access, const State& state, unsigned n, uint8_t* bytes) {
  if (access.vector) {
    copy_small(bytes, state.v[n], access.size);
  } else {
    put_little_endian(general(state, n), bytes, access.size);
  }
}

void load_register(const Access& access, State& state, unsigned n, const uint8_t* bytes) {
  if (access.vector) {
    load_vector(state, n, bytes, access.size);
  } else {
    set_general(state, n, loaded_value(access, bytes));
  }
}

uint64_t offset_register(const Access& access, const State& state) {
  const uint64_t rm = general(state, access.rm);
  uint64_t offset = rm;
  switch (access.extend) {
    case Extend::Uxtw:
      offset = static_cast<uint32_t>(rm);
      break;
    case Extend::Sxtw:
      offset = static_cast<uint64_t>(int64_t{static_cast<int32_t>(rm)});
      break;
    case Extend::Lsl:
    case Extend::Sxtx:
      break;
  }
  return offset << access.shift;
}

// The base register's value after the instruction, for the writeback forms.
uint64_t written_back_base(const Access& access, const State& state) {
  const uint64_t base = base_register(state, access.rn);
  switch (access.mode) {
    case AddressMode::PreIndex:
    case AddressMode::PostIndex:
      return base + static_cast<uint64_t>(access.imm);
    case AddressMode::PostIndexRegister:
      return base + general(state, access.rm);
    default:
      return base;
  }
}

EmulationResult faulted(uint64_t address) {
  return {EmulationStatus::Fault, address};
}

// One access through memory, reported when made.
MemoryStatus read_reported(Memory& memory, uint64_t address, unsigned width, uint8_t* out) {
  const MemoryStatus status = memory.read(address, width, out);
  if (status == MemoryStatus::Ok) memory.report(Direction::Read, address, width, out);
  return status;
}

MemoryStatus write_reported(Memory& memory, uint64_t address, unsigned width, const uint8_t* in) {
  const MemoryStatus status = memory.write(address, width, in);
  if (status == MemoryStatus::Ok) memory.report(Direction::Write, address, width, in);
  return status;
}

EmulationResult unmade(MemoryStatus status, uint64_t address) {
  return status == MemoryStatus::Unsupported ? EmulationResult{EmulationStatus::Unsupported, 0}
                                             : faulted(address);
}

// LDR/STR, LDP/STP (one or two registers, each `size` bytes at consecutive addresses).
EmulationResult registers(const Access& access, State& state, Memory& memory, uint64_t address) {
  const bool pair =
      access.operation == Operation::LoadPair || access.operation == Operation::StorePair;
  const unsigned count = pair ? 2 : 1;
  const uint8_t numbers[2] = {access.rt, access.rt2};
  uint8_t bytes[2][kMaxAccessBytes];
  if (reads_memory(access.operation)) {
    for (unsigned i = 0; i < count; ++i) {
      const uint64_t at = address + i * access.size;
      const MemoryStatus status = read_reported(memory, at, access.size, bytes[i]);
      if (status != MemoryStatus::Ok) return unmade(status, at);
    }
    if (access.acquire) full_barrier();
    for (unsigned i = 0; i < count; ++i)
      load_register(access, state, numbers[i], bytes[i]);
    return {};
  }
  for (unsigned i = 0; i < count; ++i)
    stored_bytes(access, state, numbers[i], bytes[i]);
  if (access.release) full_barrier();
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t at = address + i * access.size;
    const MemoryStatus status = write_reported(memory, at, access.size, bytes[i]);
    if (status != MemoryStatus::Ok) return unmade(status, at);
  }
  return {};
}

// The general registers `first` and `second` (a pair) or `first` alone as `width` bytes.
void register_pair_bytes(const State& state, unsigned first, unsigned second, unsigned size,
                         bool pair, uint8_t* bytes) {
  put_little_endian(general(state, first), bytes, size);
  if (pair) put_little_endian(general(state, second), bytes + size, size);
}

void set_register_pair(State& state, unsigned first, unsigned second, unsigned size, bool pair,
                       const uint8_t* bytes) {
  set_general(state, first, little_endian(bytes, size));
  if (pair) set_general(state, second, little_endian(bytes + size, size));
}

// LDXR, LDAXR, LDXP, LDAXP: a load that arms the monitor.
EmulationResult load_exclusive(const Access& access, State& state, Memory& memory,
                               ExclusiveMonitor& monitor, uint64_t address) {
  const bool pair = access.operation == Operation::LoadExclusivePair;
  uint8_t bytes[kMaxAccessBytes];
  const MemoryStatus status = read_reported(memory, address, access.total_bytes, bytes);
  if (status != MemoryStatus::Ok) return unmade(status, address);
  if (access.acquire) full_barrier();
  monitor.armed = true;
  monitor.address = address;
  monitor.size = static_cast<uint8_t>(access.total_bytes);
  std::memcpy(monitor.value, bytes, access.total_bytes);
  if (pair) {
    set_register_pair(state, access.rt, access.rt2, access.size, true, bytes);
  } else {
    set_general(state, access.rt, little_endian(bytes, access.size));
  }
  return {};
}

// STXR, STLXR, STXP, STLXP: stores iff the monitor still holds and memory still has its value.
EmulationResult store_exclusive(const Access& access, State& state, Memory& memory,
                                ExclusiveMonitor& monitor, uint64_t address) {
  const bool pair = access.operation == Operation::StoreExclusivePair;
  uint8_t desired[kMaxAccessBytes];
  register_pair_bytes(state, access.rt, access.rt2, access.size, pair, desired);
  uint64_t failed = 1;
  if (monitor.armed && monitor.address == address && monitor.size == access.total_bytes) {
    uint8_t expected[kMaxAccessBytes];
    std::memcpy(expected, monitor.value, access.total_bytes);
    if (access.release) full_barrier();
    const MemoryStatus status =
        memory.compare_exchange(address, access.total_bytes, expected, desired);
    if (status == MemoryStatus::Ok) {
      memory.report(Direction::Write, address, access.total_bytes, desired);
      failed = 0;
    } else if (status != MemoryStatus::Mismatch) {
      if (status == MemoryStatus::Fault) monitor.armed = false;
      return unmade(status, address);
    }
  }
  monitor.armed = false;
  set_general(state, access.rs, failed);
  return {};
}

uint64_t atomic_result(AtomicOpKind kind, uint64_t old, uint64_t operand, unsigned size) {
  switch (kind) {
    case AtomicOpKind::Add:
      return old + operand;
    case AtomicOpKind::Clear:
      return old & ~operand;
    case AtomicOpKind::Xor:
      return old ^ operand;
    case AtomicOpKind::Set:
      return old | operand;
    case AtomicOpKind::SignedMax:
      return sign_extended(old, size) >= sign_extended(operand, size) ? old : operand;
    case AtomicOpKind::SignedMin:
      return sign_extended(old, size) <= sign_extended(operand, size) ? old : operand;
    case AtomicOpKind::UnsignedMax:
      return truncated(old, size) >= truncated(operand, size) ? old : operand;
    case AtomicOpKind::UnsignedMin:
      return truncated(old, size) <= truncated(operand, size) ? old : operand;
  }
  return old;
}

// LD<op>, SWP: compare-and-exchange until it stores, starting from a guess of zero (a mismatch
// tells the real value without a separate read).
EmulationResult read_modify_write(const Access& access, State& state, Memory& memory,
                                  uint64_t address) {
  const unsigned size = access.size;
  const uint64_t operand = general(state, access.rs);
  uint8_t expected[8] = {};
  uint8_t desired[8];
  uint64_t old = 0;
  for (;;) {
    const uint64_t next = access.operation == Operation::Swap
                              ? operand
                              : atomic_result(access.atomic, old, operand, size);
    put_little_endian(next, desired, size);
    const MemoryStatus status = memory.compare_exchange(address, size, expected, desired);
    if (status == MemoryStatus::Ok) break;
    if (status != MemoryStatus::Mismatch) return unmade(status, address);
    old = little_endian(expected, size);
  }
  memory.report(Direction::Read, address, size, expected);
  memory.report(Direction::Write, address, size, desired);
  set_general(state, access.rt, truncated(old, access.register_bytes));
  return {};
}

// CAS, CASP: one compare-and-exchange; the old value into the compare register(s).
EmulationResult compare_and_swap(const Access& access, State& state, Memory& memory,
                                 uint64_t address) {
  const bool pair = access.operation == Operation::CompareSwapPair;
  const unsigned rs2 = access.rs + 1u;
  const unsigned rt2 = access.rt + 1u;
  uint8_t expected[kMaxAccessBytes];
  uint8_t desired[kMaxAccessBytes];
  register_pair_bytes(state, access.rs, rs2, access.size, pair, expected);
  register_pair_bytes(state, access.rt, rt2, access.size, pair, desired);
  const MemoryStatus status =
      memory.compare_exchange(address, access.total_bytes, expected, desired);
  if (status != MemoryStatus::Ok && status != MemoryStatus::Mismatch) {
    return unmade(status, address);
  }
  memory.report(Direction::Read, address, access.total_bytes, expected);
  if (status == MemoryStatus::Ok) {
    memory.report(Direction::Write, address, access.total_bytes, desired);
  }
  set_register_pair(state, access.rs, rs2, access.size, pair, expected);
  return {};
}

// The order of a structure's elements in memory: for each group of `structure_elements`
// registers, for each lane, one element of each register of the group.
template <typename Element>
void for_each_structure_element(const Access& access, Element&& element) {
  const unsigned lanes = access.vector_bytes / access.size;
  const unsigned groups = access.registers / access.structure_elements;
  unsigned offset = 0;
  for (unsigned group = 0; group < groups; ++group) {
    for (unsigned lane = 0; lane < lanes; ++lane) {
      for (unsigned s = 0; s < access.structure_elements; ++s) {
        element((access.rt + group + s) % 32, lane * access.size, offset);
        offset += access.size;
      }
    }
  }
}

// LD1-LD4 / ST1-ST4 (multiple structures): a contiguous block, one register's worth per access.
EmulationResult multiple_structures(const Access& access, State& state, Memory& memory,
                                    uint64_t address) {
  uint8_t block[kMaxInstructionBytes];
  const unsigned chunk = access.vector_bytes;
  if (access.operation == Operation::LoadMultiple) {
    for (unsigned at = 0; at < access.total_bytes; at += chunk) {
      const MemoryStatus status = read_reported(memory, address + at, chunk, block + at);
      if (status != MemoryStatus::Ok) return unmade(status, address + at);
    }
    for (unsigned r = 0; r < access.registers; ++r) {
      std::memset(state.v[(access.rt + r) % 32], 0, sizeof state.v[0]);
    }
    for_each_structure_element(access, [&](unsigned n, unsigned byte, unsigned offset) {
      std::memcpy(&state.v[n][byte], block + offset, access.size);
    });
    return {};
  }
  for_each_structure_element(access, [&](unsigned n, unsigned byte, unsigned offset) {
    std::memcpy(block + offset, &state.v[n][byte], access.size);
  });
  for (unsigned at = 0; at < access.total_bytes; at += chunk) {
    const MemoryStatus status = write_reported(memory, address + at, chunk, block + at);
    if (status != MemoryStatus::Ok) return unmade(status, address + at);
  }
  return {};
}

// LD1-LD4 / ST1-ST4 (single structure) and LD1R-LD4R: one element per register, one access each.
EmulationResult single_structure(const Access& access, State& state, Memory& memory,
                                 uint64_t address) {
  uint8_t elements[4][8];
  const unsigned size = access.size;
  const unsigned count = access.structure_elements;
  if (access.operation == Operation::StoreSingle) {
    for (unsigned s = 0; s < count; ++s) {
      const uint64_t at = address + s * size;
      const unsigned n = (access.rt + s) % 32;
      const MemoryStatus status = write_reported(memory, at, size, &state.v[n][access.lane * size]);
      if (status != MemoryStatus::Ok) return unmade(status, at);
    }
    return {};
  }
  for (unsigned s = 0; s < count; ++s) {
    const uint64_t at = address + s * size;
    const MemoryStatus status = read_reported(memory, at, size, elements[s]);
    if (status != MemoryStatus::Ok) return unmade(status, at);
  }
  for (unsigned s = 0; s < count; ++s) {
    uint8_t* vector = state.v[(access.rt + s) % 32];
    if (access.operation == Operation::LoadSingle) {
      std::memcpy(vector + access.lane * size, elements[s], size);
      continue;
    }
    std::memset(vector, 0, sizeof state.v[0]);
    for (unsigned byte = 0; byte < access.vector_bytes; byte += size) {
      std::memcpy(vector + byte, elements[s], size);
    }
  }
  return {};
}

// DC ZVA: zeroes the naturally aligned block holding the address.
EmulationResult zero_block(const Access& access, const State& state, Memory& memory,
                           unsigned block_bytes) {
  if (block_bytes == 0 || (block_bytes & (block_bytes - 1)) != 0 || block_bytes % 16 != 0) {
    return {EmulationStatus::Unsupported, 0};
  }
  const uint64_t start = untagged(general(state, access.rt)) & ~uint64_t{block_bytes - 1};
  static constexpr uint8_t kZeros[16] = {};
  for (unsigned at = 0; at < block_bytes; at += sizeof kZeros) {
    const MemoryStatus status = write_reported(memory, start + at, sizeof kZeros, kZeros);
    if (status != MemoryStatus::Ok) return unmade(status, start + at);
  }
  return {};
}

// The accesses that raise an alignment fault when not naturally aligned: exclusives, atomics,
// and the acquire/release loads and stores (as on a processor without FEAT_LSE2, and qemu).
bool needs_alignment(const Access& access) {
  switch (access.operation) {
    case Operation::Load:
    case Operation::Store:
      return access.acquire || access.release;
    case Operation::LoadExclusive:
    case Operation::StoreExclusive:
    case Operation::LoadExclusivePair:
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

EmulationResult carry_out(const Access& access, State& state, Memory& memory,
                          ExclusiveMonitor& monitor, unsigned zero_block_bytes) {
  const uint64_t address = untagged(effective_address(access, state));
  if (needs_alignment(access) && address % access.total_bytes != 0) {
    return {EmulationStatus::Alignment, address};
  }
  switch (access.operation) {
    case Operation::Load:
    case Operation::Store:
    case Operation::LoadPair:
    case Operation::StorePair:
      return registers(access, state, memory, address);
    case Operation::LoadExclusive:
    case Operation::LoadExclusivePair:
      return load_exclusive(access, state, memory, monitor, address);
    case Operation::StoreExclusive:
    case Operation::StoreExclusivePair:
      return store_exclusive(access, state, memory, monitor, address);
    case Operation::AtomicOp:
    case Operation::Swap:
      return read_modify_write(access, state, memory, address);
    case Operation::CompareSwap:
    case Operation::CompareSwapPair:
      return compare_and_swap(access, state, memory, address);
    case Operation::LoadMultiple:
    case Operation::StoreMultiple:
      return multiple_structures(access, state, memory, address);
    case Operation::LoadSingle:
    case Operation::StoreSingle:
    case Operation::LoadReplicate:
      return single_structure(access, state, memory, address);
    case Operation::ZeroBlock:
      return zero_block(access, state, memory, zero_block_bytes);
  }
  return {EmulationStatus::Unsupported, 0};
}

}  // namespace

#if defined(__SANITIZE_THREAD__)
constinit std::atomic<int> g_sanitizer_barrier{0};
#endif

// ThreadSanitizer does not model fences (GCC refuses them under -fsanitize=thread): there a
// sequentially consistent read-modify-write of a variable of its own stands in, which it does
// model.
void full_barrier() {
#if defined(__SANITIZE_THREAD__)
  g_sanitizer_barrier.fetch_add(0, std::memory_order_seq_cst);
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

uint64_t effective_address(const Access& access, const State& state) {
  const uint64_t base = base_register(state, access.rn);
  switch (access.mode) {
    case AddressMode::Offset:
    case AddressMode::PreIndex:
      return base + static_cast<uint64_t>(access.imm);
    case AddressMode::RegisterOffset:
      return base + offset_register(access, state);
    case AddressMode::PostIndex:
    case AddressMode::PostIndexRegister:
      return base;
  }
  return base;
}

EmulationResult emulate(const Access& access, State& state, Memory& memory,
                        ExclusiveMonitor& monitor, unsigned zero_block_bytes) {
  // The writeback value is taken before the registers change: a load into the base register
  // with writeback is CONSTRAINED UNPREDICTABLE, and this keeps the loaded value.
  const uint64_t new_base = written_back_base(access, state);
  const EmulationResult result = carry_out(access, state, memory, monitor, zero_block_bytes);
  if (result.status != EmulationStatus::Done) return result;
  if (access.writeback) {
    const bool pair = access.operation == Operation::LoadPair;
    const bool loaded_base = access.operation != Operation::StorePair && !access.vector &&
                             reads_memory(access.operation) && access.rn != kStackPointer &&
                             (access.rt == access.rn || (pair && access.rt2 == access.rn));
    if (!loaded_base) set_base_register(state, access.rn, new_base);
  }
  state.pc += 4;
  return {};
}

}  // namespace mmiotrace::arm64
