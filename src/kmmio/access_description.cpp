// mmiotrace: signal-safe
// Describing a trapped access (see access_description.hpp).
#include "kmmio/access_description.hpp"

#include <sys/mman.h>

#include <cstring>

namespace mmiotrace::kmmio {

void describe_access(const ProbeTable& table, uintptr_t fault_address, const ucontext_t& context,
                     AccessDescription* out) {
  uintptr_t pc = arch::program_counter(context);
  mmiotrace_access& access = out->access;
  access = mmiotrace_access{};
  access.pc = pc;
  access.fault_address = fault_address;
  access.address = fault_address;
  out->operand = nullptr;
  out->probe = nullptr;

  bool decoded = false;
  uint8_t code[arch::kMaxInstructionLength] = {};
  size_t code_size = 0;
  if (table.find_page(pc) == nullptr &&
      table.find_page(pc + arch::kMaxInstructionLength - 1) == nullptr) {
    code_size = arch::read_code(pc, code);
    decoded = arch::decode(code, code_size, pc, &out->instruction) == arch::DecodeResult::Ok;
  } else {
    out->instruction = arch::Instruction{};
  }
  // The code at PC, the instruction first: the kernel's UNKNOWN line shows the first three
  // bytes there, past the end of a shorter instruction.
  access.insn_length = out->instruction.length;
  static_assert(sizeof(code) <= sizeof(access.insn));
  std::memcpy(access.insn, code, code_size);
  if (!decoded) {
    const ProbeEntry* entry = table.find_probe(fault_address);
    out->probe = entry ? entry->probe : nullptr;
    return;
  }
  access.decoded = 1;

  const arch::Instruction& insn = out->instruction;
  for (unsigned i = 0; i < insn.memory_operand_count; ++i) {
    const arch::MemoryOperand& operand = insn.memory[i];
    uintptr_t begin = arch::effective_address(insn, operand, context);
    AddressRange touched = AddressRange::from_size(begin, operand.width ? operand.width : 1);
    if (!touched.contains(fault_address)) continue;
    out->operand = &operand;
    access.address = begin;
    access.width = operand.width;
    access.kind = static_cast<uint32_t>(operand.kind);
    const ProbeEntry* entry = table.find_overlapping(touched);
    out->probe = entry ? entry->probe : nullptr;
    return;
  }
  // No data operand covers the fault: an instruction fetch from an armed page. Nothing to report.
}

bool protection_allows_access(int protection, const ucontext_t& context) {
  switch (arch::fault_access(context)) {
    case arch::FaultAccess::Fetch:
      return (protection & PROT_EXEC) != 0;
    case arch::FaultAccess::Write:
      return (protection & PROT_WRITE) != 0;
    case arch::FaultAccess::Read:
    case arch::FaultAccess::Unknown:
      break;
  }
  return (protection & (PROT_READ | PROT_WRITE | PROT_EXEC)) != 0;
}

}  // namespace mmiotrace::kmmio
