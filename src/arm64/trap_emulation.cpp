// mmiotrace: signal-safe
// The faulting AArch64 instruction: decoding, the shared cache, emulation on the signal frame
// (see trap_emulation.hpp).
#include "arm64/trap_emulation.hpp"

#include <sys/mman.h>
#include <cstring>

#include "arm64/exclusive_sequence.hpp"
#include "arm64/guarded_access.hpp"
#include "arm64/signal_frame.hpp"
#include "core/syscall.hpp"

namespace mmiotrace::arm64 {
namespace detail {

constinit std::atomic<uintptr_t> g_stub_arena{0};

}  // namespace detail
namespace {

// The engine's operand memory as the emulator's Memory: each access announced to the probes
// before it is made (a write with its value), made through the engine (the alias, the device
// model or the program's own memory), and reported after.
class EngineMemoryAdapter final : public Memory {
 public:
  explicit EngineMemoryAdapter(OperandMemory& memory) : memory_(memory) {}

  MemoryStatus read(uint64_t address, unsigned width, uint8_t* out) override {
    memory_.before(AccessKind::Read, address, width, nullptr);
    return status_of(memory_.read(address, width, out));
  }
  MemoryStatus write(uint64_t address, unsigned width, const uint8_t* in) override {
    memory_.before(AccessKind::Write, address, width, in);
    return status_of(memory_.write(address, width, in));
  }
  MemoryStatus compare_exchange(uint64_t address, unsigned width, uint8_t* expected,
                                const uint8_t* desired) override {
    const int result = memory_.compare_exchange(address, width, expected, desired);
    return result < 0 ? MemoryStatus::Unsupported : status_of(result);
  }
  void at_instruction(uint64_t pc) override { memory_.set_reported_pc(pc); }
  void report(Direction direction, uint64_t address, unsigned width,
              const uint8_t* value) override {
    memory_.after(direction == Direction::Read ? AccessKind::Read : AccessKind::Write, address,
                  width, value);
  }

 private:
  static MemoryStatus status_of(int guarded) {
    switch (guarded) {
      case kGuardedOk:
        return MemoryStatus::Ok;
      case kGuardedMismatch:
        return MemoryStatus::Mismatch;
      case kGuardedFault:
        return MemoryStatus::Fault;
      default:
        return MemoryStatus::Unsupported;
    }
  }

  OperandMemory& memory_;
};

// Instruction words read with a guarded load: code that cannot be read ends a sequence.
class GuardedCodeReader final : public CodeReader {
 public:
  bool read(uint64_t pc, uint32_t* word) override {
    return guarded_load(pc, word, sizeof *word) == kGuardedOk;
  }
};

constexpr uint64_t kConditionFlags = uint64_t{0xf} << 28;  // NZCV in PSTATE

// The signal the program gets for a fault of the emulated instruction at `fault_address`.
void fill_fault(const EmulationResult& emulated, TrapEmulationState& state, TrapResult& result) {
  result.status = TrapStatus::Fault;
  if (emulated.status == EmulationStatus::Alignment) {
    result.signal = SIGBUS;
    result.fault = siginfo_t{};
    result.fault.si_signo = SIGBUS;
    result.fault.si_code = BUS_ADRALN;
  } else if (state.fault_recorded) {
    result.signal = state.fault_signal;
    result.fault = state.fault;
  } else {
    result.signal = SIGBUS;
    result.fault = siginfo_t{};
    result.fault.si_signo = SIGBUS;
    result.fault.si_code = BUS_ADRERR;
  }
  // The program's address, not the second mapping's the guarded access faulted on.
  result.fault.si_addr = reinterpret_cast<void*>(emulated.fault_address);
  state.fault_recorded = false;
}

// How far past a reported PC the faulting access may lie (qemu-user's DC ZVA).
constexpr unsigned kMaxLeadInInstructions = 16;

// Whether `access`, with the registers of `state`, touches `fault_address`.
bool covers_fault(const Access& access, const State& state, uintptr_t fault_address) {
  uint64_t begin;
  uint64_t size = access.total_bytes;
  if (access.operation == Operation::ZeroBlock) {
    size = zero_block_bytes();
    begin = access.rt == kZeroRegister ? 0 : state.x[access.rt];
    if (size != 0) begin &= ~(size - 1);
  } else {
    begin = arm64::effective_address(access, state);
  }
  begin = untagged(begin);
  return fault_address >= begin && fault_address - begin < size;
}

// The shared cache: open addressing over (pc, word); a slot, once claimed, is never given back.
struct CacheSlot {
  std::atomic<uintptr_t> pc{0};
  std::atomic<bool> ready{false};
  uint32_t word = 0;
  CachedInstruction entry;
};
constexpr size_t kCacheSlots = 8192;
constexpr size_t kCacheProbes = 32;
CacheSlot g_cache[kCacheSlots];

size_t slot_index(uintptr_t pc, uint32_t word) {
  uint64_t key = (pc >> 2) * 0x9e3779b97f4a7c15ull ^ word;
  return static_cast<size_t>(key ^ (key >> 29)) % kCacheSlots;
}

// Out-of-line stubs: one per cache slot, two words each (the instruction, then a BRK that
// brings the thread back), in one executable mapping made by the first thread that needs it.
constexpr size_t kStubBytes = 8;
constexpr uint32_t kStubReturnTrap = 0xd4200000 | (0x4d4d << 5);  // BRK #0x4d4d
constexpr size_t kStubArenaBytes = kCacheSlots * kStubBytes;
static_assert(kStubArenaBytes == detail::kStubArenaBytes);
using detail::g_stub_arena;

uintptr_t stub_arena() {
  uintptr_t arena = g_stub_arena.load(std::memory_order_acquire);
  if (arena != 0) return arena;
  const long mapped = sys::mmap(0, kStubArenaBytes, PROT_READ | PROT_WRITE | PROT_EXEC,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped < 0) return 0;
  const auto ours = static_cast<uintptr_t>(mapped);
  if (!g_stub_arena.compare_exchange_strong(arena, ours, std::memory_order_acq_rel)) {
    sys::munmap(ours, kStubArenaBytes);  // another thread's came first
    return arena;
  }
  return ours;
}

// Writes the stub of cache slot `slot` and makes it visible to instruction fetch; 0 when there
// is no arena. Called by the thread that claimed the slot, before it publishes it.
uintptr_t write_stub(size_t slot, uint32_t word) {
  const uintptr_t arena = stub_arena();
  if (arena == 0) return 0;
  const uintptr_t stub = arena + slot * kStubBytes;
  auto* words = reinterpret_cast<uint32_t*>(stub);
  words[0] = word;
  words[1] = kStubReturnTrap;
  // Both words lie in one cache line (8-byte aligned): clean it to the point of unification,
  // invalidate it in the instruction caches.
  asm volatile(
      "dc cvau, %0\n"
      "dsb ish\n"
      "ic ivau, %0\n"
      "dsb ish\n"
      "isb"
      :
      : "r"(stub)
      : "memory");
  return stub;
}

// Starts the out-of-line execution of `cached` on the frame `uc`: its base register pointed at
// the second mapping that `memory` gives for the range it may touch, the PC at its stub.
TrapResult run_out_of_line(const CachedInstruction& cached, ucontext_t& uc, OperandMemory& memory,
                           TrapEmulationState& state) {
  TrapResult result;
  result.status = TrapStatus::Unsupported;
  const OutOfLineForm& form = cached.out_of_line;
  uint64_t registers[31];
  std::memcpy(registers, uc.uc_mcontext.regs, sizeof registers);
  const FrameScalableRegisters scalable = frame_scalable_registers(uc);
  Footprint footprint;
  if (!out_of_line_footprint(form, registers, scalable.vector_bytes, scalable.p, footprint)) {
    result.reason = "it is an SVE load or store, and its signal frame holds no SVE vector length";
    return result;
  }
  const uint64_t begin = untagged(footprint.address);
  const uintptr_t alias = memory.direct_address(begin, footprint.bytes);
  if (alias == 0) {
    result.reason =
        "it is a load or store mmiotrace does not emulate, and the memory it may "
        "touch has no second mapping to run it on (a device model, a replay, or a "
        "range that leaves its mapping)";
    return result;
  }
  // A free entry; or one of this stub at this SP, left by a signal handler of the program that
  // jumped out of an earlier execution (a nested one runs on a lower SP or another stack).
  PendingOutOfLine* pending = nullptr;
  for (PendingOutOfLine& entry : state.out_of_line) {
    if (entry.instruction == &cached && entry.sp == uc.uc_mcontext.sp) {
      pending = &entry;
      break;
    }
    if (entry.instruction == nullptr && pending == nullptr) pending = &entry;
  }
  if (pending == nullptr) {
    result.reason = "too many out-of-line executions are nested on this thread";
    return result;
  }
  const unsigned base = form.base_register;
  const uint64_t base_value = uc.uc_mcontext.regs[base];
  *pending = PendingOutOfLine{};
  pending->instruction = &cached;
  pending->sp = uc.uc_mcontext.sp;
  pending->base_value = base_value;
  pending->address = untagged(footprint.base);
  pending->alias_begin = alias;
  pending->alias_bytes = footprint.bytes;
  pending->alias_offset = alias - begin;
  pending->base_register = static_cast<uint8_t>(base);
  uc.uc_mcontext.regs[base] = untagged(base_value) + pending->alias_offset;
  uc.uc_mcontext.pc = cached.out_of_line_stub;
  result.status = TrapStatus::OutOfLine;
  result.reason = cached.out_of_line_reported.exchange(true) ? nullptr : form.name;
  return result;
}

const char* unsupported_reason(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::Unsupported:
      return "it is a load or store mmiotrace neither emulates nor runs out of line (an SVE "
             "gather or scatter, a memory tag access, a pointer-authenticated load, CPY/SET, a "
             "SIMD&FP RCpc access, or an SVE or LD64B/ST64B access based on SP)";
    case DecodeStatus::LiteralLoad:
      return "it is a literal load, which cannot reach a traced mapping";
    default:
      return "it is not a load or store (a cache maintenance or other instruction)";
  }
}

}  // namespace

DecodeResult decode(const uint8_t* code, size_t size, uintptr_t pc, Instruction* out) {
  *out = Instruction{};
  if (size < kMaxInstructionLength) return DecodeResult::Unreadable;
  out->pc = pc;
  out->length = kMaxInstructionLength;
  std::memcpy(out->bytes, code, kMaxInstructionLength);
  out->status = arm64::decode(detail::word_of(code), out->access);
  if (out->status != DecodeStatus::Access) return DecodeResult::Ok;
  const Access& access = out->access;
  const bool loads = reads_memory(access.operation);
  const bool stores = writes_memory(access.operation);
  MemoryOperand& operand = out->memory[0];
  operand.kind = loads && stores ? AccessKind::ReadWrite
                 : stores        ? AccessKind::Write
                                 : AccessKind::Read;
  operand.width = access.operation == Operation::ZeroBlock
                      ? static_cast<uint16_t>(zero_block_bytes())
                      : access.total_bytes;
  out->memory_operand_count = 1;
  return DecodeResult::Ok;
}

uintptr_t effective_address(const Instruction& instruction, const MemoryOperand&,
                            const ucontext_t& context) {
  State registers;
  std::memcpy(registers.x, context.uc_mcontext.regs, sizeof(registers.x));
  registers.sp = context.uc_mcontext.sp;
  const Access& access = instruction.access;
  uint64_t address;
  if (access.operation == Operation::ZeroBlock) {
    const unsigned block = zero_block_bytes();
    address = access.rt == kZeroRegister ? 0 : registers.x[access.rt];
    if (block != 0) address &= ~uint64_t{block - 1};
  } else {
    address = arm64::effective_address(access, registers);
  }
  return static_cast<uintptr_t>(untagged(address));
}

bool value_from_registers(const Instruction& instruction, const ucontext_t& context,
                          uint8_t* value_out) {
  const Access& access = instruction.access;
  if (instruction.status != DecodeStatus::Access || access.vector ||
      (access.operation != Operation::Load && access.operation != Operation::Store)) {
    return false;
  }
  const uint64_t value = access.rt == kZeroRegister ? 0 : context.uc_mcontext.regs[access.rt];
  std::memcpy(value_out, &value, access.size);
  return true;
}

unsigned zero_block_bytes() {
  uint64_t dczid = 0;
  asm("mrs %0, dczid_el0" : "=r"(dczid));
  if (dczid & 0x10) return 0;  // DZP: DC ZVA prohibited
  return 4u << (dczid & 0xf);
}

namespace detail {

// This thread's last answer (a trap may look its instruction up twice: the access's direction,
// then its emulation).
constinit thread_local LastInstruction t_last_instruction
    __attribute__((tls_model("initial-exec"))) = {0, 0, nullptr};

// The look-up in the shared cache, and the decoding of an instruction met for the first time:
// out of line, so that the last answer's check costs no saved registers.
const CachedInstruction* look_up_instruction(uintptr_t pc, uint32_t word, const uint8_t* code,
                                             size_t size) {
  LastInstruction& last = t_last_instruction;
  const size_t first = slot_index(pc, word);
  for (size_t probe = 0; probe < kCacheProbes; ++probe) {
    CacheSlot& slot = g_cache[(first + probe) % kCacheSlots];
    uintptr_t owner = slot.pc.load(std::memory_order_acquire);
    if (owner == 0) {
      // Taken by another thread meanwhile (for another instruction, or this one with a word
      // that may differ): go on looking.
      if (!slot.pc.compare_exchange_strong(owner, pc, std::memory_order_acq_rel)) continue;
      slot.word = word;
      decode(code, size, pc, &slot.entry.instruction);
      slot.entry.out_of_line_stub = 0;
      if (slot.entry.instruction.status == DecodeStatus::Unsupported &&
          out_of_line_form(word, slot.entry.out_of_line)) {
        slot.entry.out_of_line_stub = write_stub((first + probe) % kCacheSlots, word);
      }
      slot.ready.store(true, std::memory_order_release);
      last = {pc, word, &slot.entry};
      return &slot.entry;
    }
    if (owner == pc && slot.ready.load(std::memory_order_acquire) && slot.word == word) {
      last = {pc, word, &slot.entry};
      return &slot.entry;
    }
  }
  return nullptr;
}

}  // namespace detail

const CachedInstruction* cached_instruction(uintptr_t pc) {
  uint8_t code[kMaxInstructionLength];
  return cached_instruction(pc, code, read_code(pc, code));
}

TrapResult emulate_trap(const CachedInstruction& cached, ucontext_t& uc, uintptr_t fault_address,
                        OperandMemory& memory, TrapEmulationState& state) {
  TrapResult result;
  const Instruction& instruction = cached.instruction;
  Access access = instruction.access;
  uint64_t nzcv = uc.uc_mcontext.pstate & kConditionFlags;
  if (instruction.status == DecodeStatus::NotAccess) {
    // qemu-user reports a DC ZVA's fault at an earlier instruction of its block: go on to the
    // access, interpreting what comes before it, and carry it out if it is the one that faulted.
    load_state(uc, state.registers, 0);
    GuardedCodeReader code;
    if (!interpret_to_access(state.registers, nzcv, code, state.monitor, kMaxLeadInInstructions,
                             &access) ||
        !covers_fault(access, state.registers, fault_address)) {
      result.status = TrapStatus::Unsupported;
      result.reason = unsupported_reason(instruction.status);
      return result;
    }
    memory.set_reported_pc(state.registers.pc);  // the access's own instruction
    if (access.vector && !load_vectors(uc, state.registers, vector_registers_of(access))) {
      result.status = TrapStatus::Unsupported;
      result.reason = "its signal frame holds no FP/SIMD registers";
      return result;
    }
  } else if (instruction.status != DecodeStatus::Access) {
    if (cached.out_of_line_stub != 0) return run_out_of_line(cached, uc, memory, state);
    result.status = TrapStatus::Unsupported;
    result.reason = unsupported_reason(instruction.status);
    return result;
  } else if (!load_state(uc, state.registers, vector_registers_of(access))) {
    result.status = TrapStatus::Unsupported;
    result.reason = "its signal frame holds no FP/SIMD registers";
    return result;
  }
  state.fault_recorded = false;
  EngineMemoryAdapter adapter(memory);
  const EmulationResult emulated =
      emulate(access, state.registers, adapter, state.monitor, zero_block_bytes());
  switch (emulated.status) {
    case EmulationStatus::Done:
      break;
    case EmulationStatus::Unsupported:
      result.status = TrapStatus::Unsupported;
      result.reason = access.operation == Operation::ZeroBlock
                          ? "DC ZVA is prohibited or has an unexpected block size"
                          : "the memory behind it cannot make the access (an atomic on a device "
                            "model, or a page without a second mapping)";
      return result;
    case EmulationStatus::Alignment:
    case EmulationStatus::Fault:
      fill_fault(emulated, state, result);
      return result;
  }
  if (access.operation == Operation::LoadExclusive ||
      access.operation == Operation::LoadExclusivePair) {
    // Its store-exclusive would fail natively, with no monitor armed: carry out the sequence.
    GuardedCodeReader code;
    const SequenceResult sequence =
        run_exclusive_sequence(state.registers, nzcv, code, adapter, state.monitor);
    uc.uc_mcontext.pstate = (uc.uc_mcontext.pstate & ~kConditionFlags) | nzcv;
    store_state(state.registers, uc, 0);
    if (sequence.end == SequenceEnd::Fault) fill_fault(sequence.fault, state, result);
    return result;
  }
  uc.uc_mcontext.pstate = (uc.uc_mcontext.pstate & ~kConditionFlags) | nzcv;
  store_state(state.registers, uc,
              reads_memory(access.operation) ? vector_registers_of(access) : 0);
  return result;
}

bool recover_guarded_access(ucontext_t& uc) {
  const uintptr_t pc = uc.uc_mcontext.pc;
  if (pc < reinterpret_cast<uintptr_t>(mmiotrace_arm64_guarded_begin) ||
      pc >= reinterpret_cast<uintptr_t>(mmiotrace_arm64_guarded_end)) {
    return false;
  }
  // A leaf routine: return kGuardedFault to the caller, at the link register.
  uc.uc_mcontext.regs[0] = kGuardedFault;
  uc.uc_mcontext.pc = uc.uc_mcontext.regs[30];
  return true;
}

namespace {

// The accesses of an instruction that ran out of line, from its frame, to the engine's memory.
struct OutOfLineRun {
  const PendingOutOfLine* pending;
  const ucontext_t* uc;
};

class ReportedAccesses final : public OutOfLineAccessSink {
 public:
  explicit ReportedAccesses(OperandMemory& memory) : memory_(memory) {}
  void access(bool write, uint64_t address, unsigned width, const uint8_t* value) override {
    memory_.after(write ? AccessKind::Write : AccessKind::Read, address, width, value);
  }

 private:
  OperandMemory& memory_;
};

void give_out_of_line_accesses(OperandMemory& memory, void* context) {
  const auto& run = *static_cast<const OutOfLineRun*>(context);
  OutOfLineRegisters registers;
  uint64_t x[31];
  std::memcpy(x, run.uc->uc_mcontext.regs, sizeof x);
  registers.x = x;
  const FrameScalableRegisters scalable = frame_scalable_registers(*run.uc);
  registers.z = scalable.z;
  registers.p = scalable.p;
  registers.ffr = scalable.ffr;
  registers.vector_bytes = scalable.vector_bytes;
  ReportedAccesses sink(memory);
  out_of_line_accesses(run.pending->instruction->out_of_line, run.pending->address, registers,
                       sink);
}

}  // namespace

OutOfLineOutcome finish_out_of_line(int signo, const siginfo_t& info, ucontext_t& uc,
                                    TrapEmulationState& state, OutOfLineReports& reports) {
  OutOfLineOutcome outcome;
  const uintptr_t pc = uc.uc_mcontext.pc;
  if (!in_out_of_line_stub(pc)) return outcome;
  const bool returned = signo == SIGTRAP && pc % kStubBytes == 4;
  const bool faulted = (signo == SIGSEGV || signo == SIGBUS) && pc % kStubBytes == 0;
  if (!returned && !faulted) return outcome;
  const uintptr_t stub = pc - pc % kStubBytes;
  // The execution of this stub at this SP (at most one: see run_out_of_line); another of the
  // same stub may be pending under a signal handler of the program, on another SP.
  PendingOutOfLine* pending = nullptr;
  for (PendingOutOfLine& entry : state.out_of_line) {
    if (entry.instruction != nullptr && entry.instruction->out_of_line_stub == stub &&
        entry.sp == uc.uc_mcontext.sp) {
      pending = &entry;
    }
  }
  if (pending == nullptr) return outcome;
  outcome.ours = true;
  const uintptr_t instruction_pc = pending->instruction->instruction.pc;
  if (returned) {
    OutOfLineRun run{pending, &uc};
    reports.report(instruction_pc, pending->address, &give_out_of_line_accesses, &run);
  }
  uc.uc_mcontext.regs[pending->base_register] = pending->base_value;
  if (returned) {
    uc.uc_mcontext.pc = instruction_pc + 4;
  } else {
    // The instruction's own fault: the program gets it at its instruction and address.
    uc.uc_mcontext.pc = instruction_pc;
    outcome.signal = signo;
    outcome.fault = info;
    const auto address = reinterpret_cast<uintptr_t>(info.si_addr);
    if (address >= pending->alias_begin && address - pending->alias_begin < pending->alias_bytes) {
      outcome.fault.si_addr = reinterpret_cast<void*>(address - pending->alias_offset);
    }
  }
  *pending = PendingOutOfLine{};
  return outcome;
}

bool recover_emulation_fault(int signo, const siginfo_t& info, ucontext_t& uc,
                             TrapEmulationState& state) {
  if (!recover_guarded_access(uc)) return false;
  state.fault_recorded = true;
  state.fault_signal = signo;
  state.fault = info;
  return true;
}

}  // namespace mmiotrace::arm64
