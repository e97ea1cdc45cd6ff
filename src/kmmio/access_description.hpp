// mmiotrace: signal-safe
// From a fault to what the probe handlers are told: which instruction, which of its memory
// operands hit the armed page, which probe that operand touches.
#pragma once

#include <sys/mman.h>
#include <ucontext.h>

#include "arch/machine.hpp"
#include "kmmio/probe_table.hpp"
#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::kmmio {

struct AccessDescription {
  arch::Instruction instruction;
  const arch::MemoryOperand* operand = nullptr;  // the operand that faulted, if decoded
  mmiotrace_access access = {};
  mmiotrace_probe* probe = nullptr;  // the probe the access touches, or null
};

// Describes the access that faulted at `fault_address` with `context` as it was before the
// instruction ran. Code on armed pages is not read (it would fault); such a fault is reported
// undecoded.
void describe_access(const ProbeTable& table, uintptr_t fault_address, const ucontext_t& context,
                     AccessDescription* out);

// Whether the page's own protection allows the access that faulted; if not, the fault is the
// program's own and goes to it, as it would untraced. Inline for a page both readable and
// writable (device memory, mostly), where only a fetch needs asking about: the frame says so
// cheaply, where finding whether the access writes may take decoding its instruction.
bool protection_allows_access(int protection, const ucontext_t& context);
inline bool protection_allows(int protection, const ucontext_t& context) {
  if ((protection & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE)) {
    return (protection & PROT_EXEC) != 0 || !arch::fault_is_fetch(context);
  }
  return protection_allows_access(protection, context);
}

}  // namespace mmiotrace::kmmio
