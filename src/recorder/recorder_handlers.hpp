// mmiotrace: signal-safe
// The probe handler of traced mappings: one trace event per access.
#pragma once

#include <cstddef>

#include "core/access_record.hpp"
#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::recorder {

// Post handler of every TracedMapping's probe (probe->user_data is the TracedMapping).
void record_access(mmiotrace_probe* probe, const mmiotrace_access* access, void* ucontext);

// What record_access() would record for each of `count` accesses logged by translated code
// (kmmio/code_cache.hpp) to `probe`'s mapping, all made at `time_ns`, written in one go.
void record_logged_accesses(mmiotrace_probe* probe, const AccessRecord* records, size_t count,
                            uint64_t time_ns);

}  // namespace mmiotrace::recorder
