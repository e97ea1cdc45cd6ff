// mmiotrace: signal-safe
// The probe handler of traced mappings: one trace event per access.
#pragma once

#include <cstddef>

#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::trace {

// Post handler of every TracedMapping's probe (probe->user_data is the TracedMapping).
void record_access(mmiotrace_probe* probe, const mmiotrace_access* access, void* ucontext);

}  // namespace mmiotrace::trace
