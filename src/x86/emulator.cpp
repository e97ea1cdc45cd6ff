// mmiotrace: signal-safe
// Carrying out a trapped instruction without opening its page (see emulator.hpp).
#include <algorithm>
#include <cstring>

#include "core/address_range.hpp"
#include "core/syscall.hpp"
#include "x86/emulator.hpp"
#include "x86/guarded_access.hpp"
#include "x86/instruction_cache.hpp"
#include "x86/stub_builder.hpp"

namespace mmiotrace::x86 {
namespace {

constexpr uint64_t kTrapFlag = 0x100;
constexpr uint64_t kDirectionFlag = 0x400;
constexpr uint64_t kZeroFlag = 0x40;
constexpr uint64_t kArithmeticFlags = 0x8d5;  // CF PF AF ZF SF OF

// Encoding number (RAX = 0 ... R15 = 15) to mcontext_t::gregs index.
constexpr int kGregOfNumber[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                   REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                   REG_R12, REG_R13, REG_R14, REG_R15};

int number_of_greg(int greg) {
  for (int number = 0; number < 16; ++number) {
    if (kGregOfNumber[number] == greg) return number;
  }
  return -1;
}

// A frame register as unsigned (greg_t is long long; its unsigned twin may alias it).
unsigned long long& greg(ucontext_t& uc, int greg_index) {
  return reinterpret_cast<unsigned long long&>(uc.uc_mcontext.gregs[greg_index]);
}

// A register the emulator sets to another value for the stub, and gives back unchanged.
struct Borrowed {
  int number = -1;  // encoding number, or -1
  uint64_t value = 0;
};

// The interrupted state, as the stub is to see it.
void load_area(EmulationArea& area, ucontext_t& uc, const EmulationPlan& plan,
               Borrowed borrowed = {}) {
  for (int number = 0; number < 16; ++number)
    area.gpr[number] = greg(uc, kGregOfNumber[number]);
  if (borrowed.number >= 0) area.gpr[borrowed.number] = borrowed.value;
  area.rflags = greg(uc, REG_EFL) & ~kTrapFlag;
  area.xstate = plan.xstate_mask ? reinterpret_cast<uint64_t>(uc.uc_mcontext.fpregs) : 0;
  area.xstate_mask = plan.xstate_mask;
}

// The instruction completed: its registers and flags go to the frame, except those it only
// read and the emulator borrowed (`keep`, as encoding numbers).
void commit_area(const EmulationArea& area, ucontext_t& uc, uint32_t keep) {
  for (int number = 0; number < 16; ++number) {
    if (keep & (1u << number)) continue;
    greg(uc, kGregOfNumber[number]) = area.gpr[number];
  }
  unsigned long long trap = greg(uc, REG_EFL) & kTrapFlag;
  greg(uc, REG_EFL) = (area.rflags & ~kTrapFlag) | trap;
}

EmulationResult fault_from(EmulationArea& area) {
  EmulationResult result;
  result.status = EmulationStatus::Fault;
  result.signal = area.fault_signal;
  result.fault = area.fault;
  area.fault_recorded = false;
  return result;
}

// The operand of a masked read whose whole width cannot be read (glibc's EVEX string functions
// read a buffer's tail with a mask, past the end of a file's last page, where the CPU suppresses
// the fault of every element the mask leaves out): read page by page, a page that cannot be read
// taken as zeros, which the instruction then leaves out. The page of `fault_address` must read.
// (An element the mask selects on such a page faults natively but reads as zero here.)
int read_masked_operand(OperandMemory& memory, uintptr_t address, size_t width,
                        uintptr_t fault_address, uint8_t* out) {
  for (size_t done = 0; done < width;) {
    const uintptr_t at = address + done;
    const size_t piece = std::min<size_t>(width - done, kPageSize - (at & (kPageSize - 1)));
    if (memory.read(at, piece, out + done) != kGuardedOk) {
      if (page_floor(fault_address) == page_floor(at)) return kGuardedFault;
      std::memset(out + done, 0, piece);
    }
    done += piece;
  }
  return kGuardedOk;
}

EmulationResult unsupported(const char* reason) {
  EmulationResult result;
  result.status = EmulationStatus::Unsupported;
  result.reason = reason;
  return result;
}

// Runs the stub with the redirected operand at `target`. Returns false when the instruction
// faulted (the fault is recorded in the area).
bool run_stub(const EmulationPlan& plan, int index, EmulationArea& area, uintptr_t target) {
  if (plan.substituted_base[index] >= 0) {
    area.gpr[plan.substituted_base[index]] = target;
  } else {
    area.target = target;
  }
  area.fault_recorded = false;
  area.in_stub = true;
  int aborted = plan.stub[index](&area);
  area.in_stub = false;
  return aborted == 0 && !area.fault_recorded;
}

int64_t sign_extend(uint64_t value, unsigned bytes) {
  if (bytes >= 8) return static_cast<int64_t>(value);
  unsigned shift = 64 - 8 * bytes;
  return static_cast<int64_t>(value << shift) >> shift;
}

bool all_zero(const uint8_t* bytes, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

EmulationResult divide_error(const Instruction& instruction) {
  EmulationResult result;
  result.status = EmulationStatus::Fault;
  result.signal = SIGFPE;
  result.fault.si_signo = SIGFPE;
  result.fault.si_code = FPE_INTDIV;
  result.fault.si_addr = reinterpret_cast<void*>(instruction.pc);
  return result;
}

// A locked read-modify-write (or XCHG): the stub computes on a copy, and a compare-and-exchange
// commits it; on contention, again with the value found.
EmulationResult emulate_atomic(const CachedInstruction& entry, int index, uintptr_t address,
                               size_t width, ucontext_t& uc, OperandMemory& memory,
                               EmulationArea& area, Borrowed borrowed, uint32_t keep) {
  const EmulationPlan& plan = entry.plan;
  if (width != 1 && width != 2 && width != 4 && width != 8 && width != 16) {
    return unsupported("its locked operand is not 1, 2, 4, 8 or 16 bytes wide");
  }
  uint8_t old_value[16];
  memory.before(AccessKind::Read, address, width, nullptr);
  if (memory.read(address, width, old_value) != kGuardedOk) return fault_from(area);
  uint8_t* bounce = area.bounce + (address & 63);
  for (;;) {
    load_area(area, uc, plan, borrowed);
    std::memcpy(bounce, old_value, width);
    if (!run_stub(plan, index, area, reinterpret_cast<uintptr_t>(bounce))) return fault_from(area);
    uint8_t expected[16];
    std::memcpy(expected, old_value, width);
    int result = memory.compare_exchange(address, width, expected, bounce);
    if (result == -1) {
      // The operand spans regions (or traced and untraced memory): no single compare-and-
      // exchange can cover it. It is done as a read and a write, atomic with respect to
      // nothing (docs/limitations.md).
      result = memory.write(address, width, bounce);
    }
    if (result == kGuardedOk) break;
    if (result != kGuardedMismatch) return fault_from(area);
    std::memcpy(old_value, expected, width);  // another thread changed it: compute again
  }
  memory.after(AccessKind::Read, address, width, old_value);
  memory.before(AccessKind::Write, address, width, bounce);
  memory.after(AccessKind::Write, address, width, bounce);
  commit_area(area, uc, keep);
  greg(uc, REG_RIP) += entry.instruction.length;
  return {};
}

// The flags of `cmp first, second` at `width` bytes.
uint64_t compare_flags(uint64_t first, uint64_t second, unsigned width) {
  uint64_t flags;
  switch (width) {
    case 1:
      asm("cmpb %b2, %b1\n\tpushfq\n\tpopq %0" : "=r"(flags) : "q"(first), "q"(second) : "cc");
      break;
    case 2:
      asm("cmpw %w2, %w1\n\tpushfq\n\tpopq %0" : "=r"(flags) : "r"(first), "r"(second) : "cc");
      break;
    case 4:
      asm("cmpl %k2, %k1\n\tpushfq\n\tpopq %0" : "=r"(flags) : "r"(first), "r"(second) : "cc");
      break;
    default:
      asm("cmpq %2, %1\n\tpushfq\n\tpopq %0" : "=r"(flags) : "r"(first), "r"(second) : "cc");
      break;
  }
  return flags & kArithmeticFlags;
}

uint64_t little_endian(const uint8_t* bytes, unsigned width) {
  uint64_t value = 0;
  std::memcpy(&value, bytes, width);
  return value;
}

// One element of a string instruction at `address`: read, with its reporting.
int read_element(OperandMemory& memory, uintptr_t address, unsigned width, uint8_t* out) {
  memory.before(AccessKind::Read, address, width, nullptr);
  int result = memory.read(address, width, out);
  if (result == kGuardedOk) memory.after(AccessKind::Read, address, width, out);
  return result;
}

int write_element(OperandMemory& memory, uintptr_t address, unsigned width, const uint8_t* in) {
  memory.before(AccessKind::Write, address, width, in);
  int result = memory.write(address, width, in);
  if (result == kGuardedOk) memory.after(AccessKind::Write, address, width, in);
  return result;
}

// The part of a REP STOS or REP MOVS (whose source is not traced) that lies in a region the
// memory lets it write directly (OperandMemory::direct_run()): each element written there with
// its own width, as the CPU would, and reported, without the look-ups of write_element(). Moves
// the registers past the elements done, and returns how many; 0 when there are none or the first
// one faults (the element-by-element path then raises the fault as the instruction would).
uint64_t direct_string_run(StringOp op, unsigned width, int64_t step, unsigned long long& rsi,
                           unsigned long long& rdi, unsigned long long& rcx, unsigned long long rax,
                           OperandMemory& memory) {
  uintptr_t direct = 0;
  const uint64_t run = memory.direct_run(rdi, width, step, rcx, &direct);
  if (run == 0) return 0;
  if (op == StringOp::Movs) {
    // The source's span, whole: traced bytes there need their own reports.
    uint64_t span = (run - 1) * static_cast<uint64_t>(step > 0 ? step : -step) + width;
    uintptr_t low = step > 0 ? rsi : rsi - span + width;
    if (memory.traced(low, span)) return 0;
  }
  const uintptr_t first = rdi;
  uint8_t value[8];
  std::memcpy(value, &rax, sizeof(value));
  uint64_t done = 0;
  for (; done < run; ++done) {
    if (op == StringOp::Movs && guarded_load(rsi, value, width) != kGuardedOk) break;
    if (guarded_store(direct + (rdi - first), value, width) != kGuardedOk) break;
    memory.report_direct(AccessKind::Write, rdi, width, value);
    if (op == StringOp::Movs) rsi += static_cast<uint64_t>(step);
    rdi += static_cast<uint64_t>(step);
    --rcx;
  }
  return done;
}

// MOVS, STOS, LODS, CMPS, SCAS, element by element while they touch traced memory; the CPU
// goes on with the rest natively.
EmulationResult emulate_string(const CachedInstruction& entry, ucontext_t& uc,
                               OperandMemory& memory, EmulationArea& area) {
  const EmulationPlan& plan = entry.plan;
  const unsigned width = plan.element_width;
  const StringOp op = plan.string_op;
  unsigned long long& rsi = greg(uc, REG_RSI);
  unsigned long long& rdi = greg(uc, REG_RDI);
  unsigned long long& rcx = greg(uc, REG_RCX);
  unsigned long long& rax = greg(uc, REG_RAX);
  unsigned long long& flags = greg(uc, REG_EFL);
  const int64_t step = (flags & kDirectionFlag) ? -static_cast<int64_t>(width) : width;
  const bool uses_source = op == StringOp::Movs || op == StringOp::Lods || op == StringOp::Cmps;
  const bool uses_destination = op != StringOp::Lods;
  const uint64_t accumulator_mask = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;

  uint64_t done_elements = 0;
  bool finished = false;
  while (!finished) {
    if (plan.has_rep && rcx == 0) {
      finished = true;
      break;
    }
    if (plan.has_rep && (op == StringOp::Stos || op == StringOp::Movs)) {
      uint64_t done = direct_string_run(op, width, step, rsi, rdi, rcx, rax, memory);
      if (done > 0) {
        done_elements += done;
        continue;
      }
    }
    bool source_traced = uses_source && memory.traced(rsi, width);
    bool destination_traced = uses_destination && memory.traced(rdi, width);
    bool reachable = (!uses_source || memory.available(rsi, width)) &&
                     (!uses_destination || memory.available(rdi, width));
    if ((!source_traced && !destination_traced) || !reachable) {
      if (done_elements == 0) {
        return unsupported(reachable ? "its string operands are not traced"
                                     : "part of its operands has no alias");
      }
      break;  // out of traced memory (or of what can be emulated): the CPU takes it from here
    }
    uint8_t source[8] = {};
    uint8_t destination[8] = {};
    if (uses_source && read_element(memory, rsi, width, source) != kGuardedOk) {
      return fault_from(area);
    }
    switch (op) {
      case StringOp::Movs:
        if (write_element(memory, rdi, width, source) != kGuardedOk) return fault_from(area);
        break;
      case StringOp::Stos:
        std::memcpy(destination, &rax, width);
        if (write_element(memory, rdi, width, destination) != kGuardedOk) return fault_from(area);
        break;
      case StringOp::Lods: {
        uint64_t value = little_endian(source, width);
        rax = width == 4 ? value : (rax & ~accumulator_mask) | value;
        break;
      }
      case StringOp::Cmps:
      case StringOp::Scas: {
        if (read_element(memory, rdi, width, destination) != kGuardedOk) return fault_from(area);
        uint64_t first =
            op == StringOp::Cmps ? little_endian(source, width) : rax & accumulator_mask;
        flags = (flags & ~kArithmeticFlags) |
                compare_flags(first, little_endian(destination, width), width);
        break;
      }
    }
    if (uses_source) rsi += static_cast<uint64_t>(step);
    if (uses_destination) rdi += static_cast<uint64_t>(step);
    ++done_elements;
    if (!plan.has_rep) {
      finished = true;
      break;
    }
    --rcx;
    bool compares = op == StringOp::Cmps || op == StringOp::Scas;
    if (rcx == 0 || (compares && plan.repeat == Repeat::WhileEqual && !(flags & kZeroFlag)) ||
        (compares && plan.repeat == Repeat::WhileNotEqual && (flags & kZeroFlag))) {
      finished = true;
    }
  }
  EmulationResult result;
  if (finished) {
    greg(uc, REG_RIP) += entry.instruction.length;
  } else {
    result.status = EmulationStatus::Interrupted;
  }
  return result;
}

}  // namespace

EmulationResult emulate(const CachedInstruction& entry, ucontext_t& uc, uintptr_t fault_address,
                        OperandMemory& memory, EmulationArea& area) {
  const Instruction& instruction = entry.instruction;
  const EmulationPlan& plan = entry.plan;
  if (plan.kind == PlanKind::Unsupported) return unsupported(plan.reason);
  if (plan.kind == PlanKind::String) return emulate_string(entry, uc, memory, area);

  // Which memory operand faulted, and where it really points.
  int index = -1;
  uintptr_t address = 0;
  size_t width = 0;
  int64_t bit_offset = 0;
  for (int i = 0; i < instruction.memory_operand_count; ++i) {
    const MemoryOperand& operand = instruction.memory[i];
    uintptr_t begin = effective_address(instruction, operand, uc);
    if (plan.bit_offset.valid()) {
      // BT* [m], reg addresses the bit string around m: the operand that holds the bit.
      unsigned bits = operand.width * 8u;
      bit_offset = sign_extend(read_gpr(uc, plan.bit_offset), plan.bit_offset.size);
      int64_t element = bit_offset >= 0 ? bit_offset / bits : -((-bit_offset + bits - 1) / bits);
      begin += static_cast<uintptr_t>(element * static_cast<int64_t>(operand.width));
      bit_offset -= element * bits;
    }
    size_t size = operand.width ? operand.width : 1;
    if (fault_address >= begin && fault_address - begin < size) {
      index = i;
      address = begin;
      width = operand.width;
      break;
    }
  }
  if (index < 0) return unsupported("the fault is not on one of its memory operands");
  if (plan.stub[index] == nullptr) return unsupported("its traced operand cannot be redirected");
  if (width == 0 || width > kMaxAccessWidth) return unsupported("its operand width is unusual");
  if (!memory.available(address, width)) return unsupported("part of its operand has no alias");
  for (int i = 0; i < instruction.memory_operand_count; ++i) {
    if (i == index) continue;
    uintptr_t other = effective_address(instruction, instruction.memory[i], uc);
    if (memory.traced(other, instruction.memory[i].width ? instruction.memory[i].width : 1)) {
      return unsupported("both of its memory operands are traced");
    }
  }

  // Registers the emulator borrows and gives back unchanged.
  uint32_t keep = 0;
  int bit_register = plan.bit_offset.valid() ? number_of_greg(plan.bit_offset.greg) : -1;
  if (plan.substituted_base[index] >= 0) keep |= 1u << plan.substituted_base[index];
  if (bit_register >= 0) keep |= 1u << bit_register;

  Borrowed borrowed;
  if (bit_register >= 0) borrowed = {bit_register, static_cast<uint64_t>(bit_offset)};
  load_area(area, uc, plan, borrowed);
  if (plan.kind == PlanKind::Atomic) {
    return emulate_atomic(entry, index, address, width, uc, memory, area, borrowed, keep);
  }

  const AccessKind kind = instruction.memory[index].kind;
  uint8_t* bounce = area.bounce + (address & 63);
  if (reads(kind)) {
    memory.before(AccessKind::Read, address, width, nullptr);
    int read = memory.read(address, width, bounce);
    if (read != kGuardedOk && plan.masked_read) {
      area.fault_recorded = false;
      read = read_masked_operand(memory, address, width, fault_address, bounce);
    }
    if (read != kGuardedOk) return fault_from(area);
    memory.after(AccessKind::Read, address, width, bounce);
    if (plan.division && all_zero(bounce, width)) return divide_error(instruction);
  } else {
    std::memset(bounce, 0, width);
  }
  if (!run_stub(plan, index, area, reinterpret_cast<uintptr_t>(bounce))) return fault_from(area);

  if (writes(kind)) {
    memory.before(AccessKind::Write, address, width, bounce);
    uintptr_t direct = plan.self_store ? memory.direct_address(address, width) : 0;
    if (direct != 0) {
      // The instruction itself makes the store (non-temporal, masked or direct), on the alias.
      EmulationArea first_run_registers = area;
      load_area(area, uc, plan, borrowed);
      if (!run_stub(plan, index, area, direct)) return fault_from(area);
      std::memcpy(area.gpr, first_run_registers.gpr, sizeof(area.gpr));
      area.rflags = first_run_registers.rflags;
    } else if (plan.self_store) {
      // A masked store with no alias to run it on: learn which bytes it writes (those it
      // changes from all-zero or from all-one bytes) and write just those.
      uint8_t zeros_run[kMaxAccessWidth];
      std::memcpy(zeros_run, bounce, width);
      EmulationArea first_run_registers = area;
      load_area(area, uc, plan, borrowed);
      std::memset(bounce, 0xff, width);
      if (!run_stub(plan, index, area, reinterpret_cast<uintptr_t>(bounce)))
        return fault_from(area);
      std::memcpy(area.gpr, first_run_registers.gpr, sizeof(area.gpr));
      area.rflags = first_run_registers.rflags;
      size_t run_start = width;
      for (size_t i = 0; i <= width; ++i) {
        bool written = i < width && (zeros_run[i] != 0x00 || bounce[i] != 0xff);
        if (written && run_start == width) run_start = i;
        if (!written && run_start != width) {
          if (memory.write(address + run_start, i - run_start, zeros_run + run_start) !=
              kGuardedOk) {
            return fault_from(area);
          }
          run_start = width;
        }
      }
      std::memcpy(bounce, zeros_run, width);
    } else if (memory.write(address, width, bounce) != kGuardedOk) {
      return fault_from(area);
    }
    memory.after(AccessKind::Write, address, width, bounce);
  }
  commit_area(area, uc, keep);
  greg(uc, REG_RIP) += instruction.length;
  return {};
}

bool recover_emulation_fault(int signo, const siginfo_t& info, ucontext_t& uc,
                             EmulationArea& area) {
  auto pc = static_cast<uintptr_t>(uc.uc_mcontext.gregs[REG_RIP]);
  bool in_guarded = pc >= reinterpret_cast<uintptr_t>(mmiotrace_guarded_begin) &&
                    pc < reinterpret_cast<uintptr_t>(mmiotrace_guarded_end);
  if (!in_guarded && !area.in_stub) return false;
  area.fault_recorded = true;
  area.fault_signal = signo;
  area.fault = info;
  if (in_guarded) {
    // A leaf routine: return kGuardedFault to its caller.
    if (pc == reinterpret_cast<uintptr_t>(mmiotrace_guarded_cmpxchg16b)) {
      uc.uc_mcontext.gregs[REG_RBX] = uc.uc_mcontext.gregs[REG_R10];
    }
    unsigned long long& rsp = greg(uc, REG_RSP);
    greg(uc, REG_RIP) = *reinterpret_cast<const uint64_t*>(rsp);
    rsp += 8;
    greg(uc, REG_RAX) = kGuardedFault;
  } else {
    greg(uc, REG_RIP) = stub_abort_address();
    greg(uc, REG_RDI) = reinterpret_cast<uint64_t>(&area);
    area.in_stub = false;
  }
  greg(uc, REG_EFL) &= ~(kTrapFlag | kDirectionFlag | 0x40000 /* AC */);
  return true;
}

}  // namespace mmiotrace::x86
