// mmiotrace: signal-safe
// The Emulate strategy (see emulate.hpp).
#include "kmmio/emulate.hpp"

#include <atomic>
#include <cstring>

#include "arch/code_cache.hpp"
#include "arch/machine.hpp"
#include "core/access_context.hpp"
#include "core/fixed_text.hpp"
#include "core/small_copy.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/engine_settings.hpp"
#include "kmmio/engine_stats.hpp"

namespace mmiotrace::kmmio {
namespace {

// The instruction that faulted at `pc`. Its bytes may show an entry patch that another thread
// began writing over the site after this thread ran the original instruction (the int3, or part
// or all of the jump): it is decoded from the original bytes then, never single-stepped as the
// jump it is not.
const arch::CachedInstruction* faulting_instruction(uintptr_t pc) {
  uint8_t code[arch::kMaxInstructionLength];
  const size_t size = arch::read_code(pc, code);
  arch::show_original_instruction(code, pc, size);
  return arch::cached_instruction(pc, code, size);
}

// The value of type `T` at `bytes`, zero-extended: a copy of a fixed size, made inline (not a
// library call, as a copy of a variable width is).
template <typename T>
uint64_t zero_extended(const uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

// The memory behind an instruction's operands, as the engine sees it.
class EngineMemory final : public arch::OperandMemory {
 public:
  EngineMemory(const ProbeTable& table, const arch::Instruction& instruction, uintptr_t pc,
               uintptr_t fault_address, ucontext_t& uc)
      : table_(table), instruction_(instruction), pc_(pc), fault_address_(fault_address), uc_(uc) {}

  bool traced(uintptr_t address, size_t width) override {
    for (uintptr_t page = page_floor(address); page < address + width; page += kPageSize) {
      if (armed_page(page) != nullptr) return true;
    }
    return false;
  }

  bool available(uintptr_t address, size_t width) override {
    if (whole_probe(address, width) != nullptr) return true;  // its backend answers
    for (uintptr_t page = page_floor(address); page < address + width; page += kPageSize) {
      const FaultPage* armed = armed_page(page);
      if (armed != nullptr && armed->alias.load(std::memory_order_relaxed) == 0) return false;
    }
    return true;
  }

  int read(uintptr_t address, size_t width, uint8_t* out) override {
    if (const ProbeEntry* entry = whole_probe(address, width)) {
      return entry->backend->read(address - entry->range.begin, width, out);
    }
    return piecewise(address, width, out, /*write=*/false);
  }

  int write(uintptr_t address, size_t width, const uint8_t* in) override {
    if (const ProbeEntry* entry = whole_probe(address, width)) {
      return entry->backend->write(address - entry->range.begin, width, in);
    }
    return piecewise(address, width, const_cast<uint8_t*>(in), /*write=*/true);
  }

  int compare_exchange(uintptr_t address, size_t width, uint8_t* expected,
                       const uint8_t* desired) override {
    const ProbeEntry* entry = whole_probe(address, width);
    if (entry == nullptr) return -1;
    return entry->backend->compare_exchange(address - entry->range.begin, width, expected, desired);
  }

  uintptr_t direct_address(uintptr_t address, size_t width) override {
    const ProbeEntry* entry = whole_probe(address, width);
    return entry ? entry->backend->direct_address(address - entry->range.begin) : 0;
  }

  void before(arch::AccessKind kind, uintptr_t address, size_t width,
              const uint8_t* value) override {
    if (batched_probe(address, width) != nullptr) return;  // it has no pre handler
    report(kind, address, width, value, /*after=*/false);
  }
  void after(arch::AccessKind kind, uintptr_t address, size_t width,
             const uint8_t* value) override {
    if (!log_for_batch(kind, address, width, value))
      report(kind, address, width, value, /*after=*/true);
  }

  size_t direct_run(uintptr_t address, size_t width, int64_t step, size_t count,
                    uintptr_t* direct) override {
    const ProbeEntry* entry = batched_probe(address, width);
    if (entry == nullptr || entry->backend == nullptr || count == 0 || !loggable_width(width)) {
      return 0;
    }
    *direct = entry->backend->direct_address(address - entry->range.begin);
    if (*direct == 0) return 0;  // a model or a replay: every access goes to it
    // The elements that lie whole in the probe.
    const auto distance = static_cast<uint64_t>(step > 0 ? step : -step);
    uint64_t room = step > 0 ? entry->range.end - width - address : address - entry->range.begin;
    uint64_t fit = distance == 0 ? count : room / distance + 1;
    return fit < count ? fit : count;
  }

  void report_direct(arch::AccessKind kind, uintptr_t address, size_t width,
                     const uint8_t* value) override {
    log_record(kind, address, width, value);
  }

  void set_reported_pc(uintptr_t pc) override { pc_ = pc; }

  // Reports the accesses kept for a batch: before any other report, and before the emulation
  // of the instruction is over.
  void report_logged() {
    if (logged_count_ == 0) return;
    report_logged_accesses(table_, last_probe_, logged_, logged_count_,
                           this_thread_access().time_ns);
    logged_count_ = 0;
  }

 private:
  // The probe that holds all of [address, address + width), when it is reported in batches.
  const ProbeEntry* batched_probe(uintptr_t address, size_t width) {
    const ProbeEntry* entry = probe_holding(address, width);
    return entry != nullptr && last_probe_batched_ ? entry : nullptr;
  }

  // Keeps a plain access of 1 to 8 bytes to a probe that is reported in batches (the recorder's),
  // to be reported with others: the elements of a string instruction cost a record each, not a
  // handler call and an event each. False when the access must be reported now.
  bool log_for_batch(arch::AccessKind kind, uintptr_t address, size_t width, const uint8_t* value) {
    if ((kind != arch::AccessKind::Read && kind != arch::AccessKind::Write) || value == nullptr ||
        !loggable_width(width)) {
      report_logged();
      return false;
    }
    if (batched_probe(address, width) == nullptr) {
      report_logged();
      return false;
    }
    log_record(kind, address, width, value);
    return true;
  }

  // Whether an access of `width` bytes fits a batch's record.
  static bool loggable_width(size_t width) {
    return width == 1 || width == 2 || width == 4 || width == 8;
  }

  // Keeps a read or write of 1 to 8 bytes to a probe reported in batches.
  void log_record(arch::AccessKind kind, uintptr_t address, size_t width, const uint8_t* value) {
    AccessRecord& record = logged_[logged_count_];
    record.address = address;
    // A width of 1, 2, 4 or 8 bytes (loggable_width()).
    record.value = width == 1   ? zero_extended<uint8_t>(value)
                   : width == 2 ? zero_extended<uint16_t>(value)
                   : width == 4 ? zero_extended<uint32_t>(value)
                                : zero_extended<uint64_t>(value);
    record.pc = pc_;
    record.info = width | (kind == arch::AccessKind::Write ? kAccessWrite : 0);
    if (++logged_count_ == kLoggedCapacity) report_logged();
  }

  // The probe that holds all of [address, address + width), when it has a backend.
  const ProbeEntry* whole_probe(uintptr_t address, size_t width) {
    const ProbeEntry* entry = probe_holding(address, width);
    return entry != nullptr && entry->backend != nullptr ? entry : nullptr;
  }

  // The probe that holds all of [address, address + width). The elements of a string
  // instruction ask for the same probe and page thousands of times: the last answers are kept
  // (the table cannot change while an instruction is emulated).
  const ProbeEntry* probe_holding(uintptr_t address, size_t width) {
    if (last_probe_ == nullptr || !last_probe_->range.contains(address)) {
      const ProbeEntry* entry = table_.find_probe(address);
      if (entry == nullptr) return nullptr;
      last_probe_ = entry;
      last_probe_batched_ = reported_in_batches(*entry->probe);
    }
    return address + width <= last_probe_->range.end ? last_probe_ : nullptr;
  }

  // The armed page at `page`, or null.
  const FaultPage* armed_page(uintptr_t page) {
    if (page != last_page_address_) {
      last_page_ = table_.find_page(page);
      last_page_address_ = page;
    }
    return last_page_;
  }

  // An operand that crosses probes, or runs out of traced memory: each page's part through its
  // alias when the page is armed, from the program's memory otherwise. A write does the
  // program's memory first, so that a fault there leaves the devices untouched.
  int piecewise(uintptr_t address, size_t width, uint8_t* bytes, bool write) {
    if (!available(address, width)) return arch::kGuardedUnavailable;
    for (int armed_pass = 0; armed_pass < 2; ++armed_pass) {
      uintptr_t cursor = address;
      while (cursor < address + width) {
        uintptr_t chunk_end = page_floor(cursor) + kPageSize;
        if (chunk_end > address + width) chunk_end = address + width;
        const FaultPage* page = armed_page(page_floor(cursor));
        bool armed = page != nullptr;
        if (armed == (armed_pass == 1)) {
          uintptr_t where =
              armed ? page->alias.load(std::memory_order_relaxed) + (cursor - page->page) : cursor;
          uint8_t* local = bytes + (cursor - address);
          size_t length = chunk_end - cursor;
          int result = write ? arch::guarded_store(where, local, length)
                             : arch::guarded_load(where, local, length);
          if (result != arch::kGuardedOk) return result;
        }
        cursor = chunk_end;
      }
    }
    return arch::kGuardedOk;
  }

  // Tells every probe the access touches, with its part of the access.
  void report(arch::AccessKind kind, uintptr_t address, size_t width, const uint8_t* value,
              bool after) {
    report_logged();
    AddressRange range = AddressRange::from_size(address, width);
    // Probes do not overlap: one that holds the whole access (the kept answer, mostly) is the only
    // one to report to.
    const ProbeEntry* entry = probe_holding(address, width);
    const ProbeEntry* last;
    if (entry != nullptr) {
      last = entry + 1;
    } else {
      entry = table_.find_overlapping(range);
      last = table_.probes.data() + table_.probes.size();
    }
    for (; entry != nullptr && entry < last && entry->range.begin < range.end; ++entry) {
      mmiotrace_probe* probe = entry->probe;
      mmiotrace_handler handler = after ? probe->post_handler : probe->pre_handler;
      if (handler == nullptr || !entry->range.overlaps(range)) continue;
      uintptr_t begin = range.begin > entry->range.begin ? range.begin : entry->range.begin;
      uintptr_t end = range.end < entry->range.end ? range.end : entry->range.end;
      mmiotrace_access access = {};
      access.address = begin;
      access.fault_address = fault_address_;
      access.pc = pc_;
      access.width = static_cast<uint32_t>(end - begin);
      access.kind = static_cast<uint32_t>(kind);
      access.decoded = 1;
      access.insn_length = instruction_.length;
      copy_small(access.insn, instruction_.bytes, instruction_.length);
      if (value != nullptr) {
        access.value_known = 1;
        copy_small(access.value.bytes, value + (begin - address), end - begin);
      }
      handler(probe, &access, &uc_);
    }
  }

  const ProbeTable& table_;
  const arch::Instruction& instruction_;
  uintptr_t pc_;  // the instruction's address as reported: its original one, or set_reported_pc's
  uintptr_t fault_address_;
  ucontext_t& uc_;
  // Accesses kept for a batch (2 KiB: this runs on signal stacks).
  static constexpr size_t kLoggedCapacity = 64;
  AccessRecord logged_[kLoggedCapacity];
  size_t logged_count_ = 0;
  const ProbeEntry* last_probe_ = nullptr;
  bool last_probe_batched_ = false;  // reported_in_batches() of last_probe_'s probe
  const FaultPage* last_page_ = nullptr;
  uintptr_t last_page_address_ = 1;  // the page last_page_ is for (1: none, no page is there)
};

constinit std::atomic<uintptr_t> g_last_undecodable_pc{0};

// " (xx xx ...)": the instruction's bytes, for a notice.
void append_bytes(FixedText<320>& line, const arch::Instruction& instruction) {
  line.text(" (");
  for (unsigned i = 0; i < instruction.length; ++i) {
    if (i) line.character(' ');
    line.hex(instruction.bytes[i], 2);
  }
  line.character(')');
}

// Tells the notice handler, once per instruction, that it cannot be emulated and why: it is
// single-stepped instead, or, on an architecture without single-stepping, its fault goes to the
// program as it would untraced.
void report_single_step(const arch::CachedInstruction* entry, uintptr_t pc, const char* reason) {
  if (entry != nullptr) {
    if (entry->fallback_reported.exchange(true)) return;
  } else if (g_last_undecodable_pc.exchange(pc) == pc) {
    return;
  }
  FixedText<320> line;
  line.text(arch::kHasSingleStep ? "mmiotrace: single-stepping the instruction at "
                                 : "mmiotrace: handing the program the fault of the instruction "
                                   "at ")
      .hex0x(pc);
  if (entry != nullptr) append_bytes(line, entry->instruction);
  line.text(": it cannot be emulated, because ").text(reason).character('\n');
  notify(line.view().data(), line.view().size());
}

// Tells the notice handler that the instruction runs out of line (the emulator names `what` it is
// once per instruction).
void report_out_of_line(const arch::CachedInstruction& entry, uintptr_t pc, const char* what) {
  if (what == nullptr) return;
  FixedText<320> line;
  line.text("mmiotrace: running the instruction at ").hex0x(pc);
  append_bytes(line, entry.instruction);
  line.text(
          " out of line on the second mapping, its accesses recorded once it has run: "
          "mmiotrace does not emulate ")
      .text(what)
      .character('\n');
  notify(line.view().data(), line.view().size());
}

// The engine's side of an out-of-line instruction's reports: its memory, inside the table gate.
class EngineOutOfLineReports final : public OutOfLineReports {
 public:
  explicit EngineOutOfLineReports(ucontext_t& uc) : uc_(uc) {}
  void report(uintptr_t pc, uintptr_t address, void (*give)(arch::OperandMemory&, void*),
              void* context) override {
    EpochGate& gate = table_gate();
    EpochGate::Ticket ticket = gate.enter();
    const ProbeTable* table = published_table().load();
    const arch::CachedInstruction* entry = table ? arch::cached_instruction(pc) : nullptr;
    if (entry != nullptr) {
      AccessContext& access = this_thread_access();
      access.pc = pc;
      access.time_ns = arch::access_time_ns();
      EngineMemory memory(*table, entry->instruction, pc, address, uc_);
      give(memory, context);
      memory.report_logged();
      access.time_ns = 0;
    }
    gate.exit(ticket);
  }

 private:
  ucontext_t& uc_;
};

}  // namespace

arch::OutOfLineOutcome finish_out_of_line(ThreadContext& context, int signo, const siginfo_t& info,
                                          ucontext_t& uc) {
  EngineOutOfLineReports reports(uc);
  return arch::finish_out_of_line(signo, info, uc, context.emulation, reports);
}

EmulationOutcome emulate_access(ThreadContext& context, const ProbeTable& table,
                                uintptr_t fault_address, ucontext_t& uc) {
  EmulationOutcome outcome;
  auto pc = arch::program_counter(uc);
  const uintptr_t code_end = pc + arch::kMaxInstructionLength - 1;
  if (table.find_page(pc) != nullptr ||
      (page_floor(code_end) != page_floor(pc) && table.find_page(code_end) != nullptr)) {
    report_single_step(nullptr, pc, "its code lies on a traced page");
    return outcome;
  }
  const arch::CachedInstruction* entry = faulting_instruction(pc);
  if (entry == nullptr) {
    report_single_step(nullptr, pc, "its bytes cannot be decoded");
    return outcome;
  }
  // An instruction the code cache copied: the trace names the original.
  const uintptr_t reported_pc = arch::original_pc_of(pc);
  AccessContext& access = this_thread_access();
  access.pc = reported_pc;
  // Every access of the instruction (a string instruction's thousands) is made at its time: the
  // clock is read once, not once per element.
  access.time_ns = arch::access_time_ns();
  EngineMemory memory(table, entry->instruction, reported_pc, fault_address, uc);
  arch::EmulationResult result =
      arch::emulate(*entry, uc, fault_address, memory, context.emulation);
  memory.report_logged();
  access.time_ns = 0;
  switch (result.status) {
    case arch::EmulationStatus::Done:
    case arch::EmulationStatus::Interrupted:
      count_emulated();
      outcome.handled = true;
      break;
    case arch::EmulationStatus::Fault:
      count_emulated();
      outcome.handled = true;
      outcome.signal = result.signal;
      outcome.fault = result.fault;
      break;
    case arch::EmulationStatus::OutOfLine:
      count_single_stepped();
      outcome.handled = true;
      report_out_of_line(*entry, pc, result.reason);
      break;
    case arch::EmulationStatus::Unsupported:
      report_single_step(entry, pc, result.reason);
      break;
  }
  return outcome;
}

}  // namespace mmiotrace::kmmio
