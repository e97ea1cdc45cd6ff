// mmiotrace: signal-safe
// The probe handler of traced mappings: one trace event per access.
#pragma once

#include <cstddef>

#include "core/access_record.hpp"
#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::recorder {

// Post handler of every TracedMapping's probe (probe->user_data is the TracedMapping).
void record_access(mmiotrace_probe* probe, const mmiotrace_access* access, void* ucontext);

// What record_access() would record for each of the accesses logged by translated code
// (kmmio/code_cache.hpp) to `probe`'s mapping, all made at `time_ns`, written in one go: those
// from the first up to `count` of them or to the first outside the mapping or wider than 8 bytes
// (kmmio::AccessBatchHandler). Returns how many it took.
size_t record_logged_accesses(mmiotrace_probe* probe, const AccessRecord* records, size_t count,
                              uint64_t time_ns);

// Names [low, low + size) of a TracedMapping's probe, which translated code has just reached,
// in the calling thread's StagedAccessLog (kmmio::set_region_reached()): the map and physical
// address its records will have, should the thread die before it hands them over. Vector-free.
void name_staged_region(const mmiotrace_probe* probe, uint64_t low, uint64_t size);

}  // namespace mmiotrace::recorder
