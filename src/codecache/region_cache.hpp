// mmiotrace: signal-safe
// How translated code tells traced memory from the rest, whatever region an access falls in, so
// that a translation serves every region (and none): each thread keeps, in initial-exec TLS that
// translated code reaches through %fs, the last traced region it reached and the last untraced
// stretch it met, each stamped with the generation of the regions it was found in. An access
// that neither answers asks the engine (set_region_lookup()) through
// mmiotrace_region_lookup_thunk. When regions come or go, the engine publishes a new generation
// (publish_regions()), which every cached answer is checked against.
//
// Contract: a thread's RegionCache is written only by that thread (its translated code's lookups,
// in normal context or in its signal handlers); translated code re-checks it after anything that
// may have run a handler. A signal handler of the program that runs on the thread (relayed, or
// handed a fault) must give the cache back as it found it (keep_region_cache_across()): it may
// have interrupted a lookup half-way through writing its answer, or translated code between its
// check of the cache and its use. The RegionView is written by the engine's registry only (normal
// context, under its lock) and read by any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/code_cache_interface.hpp"

namespace mmiotrace::codecache {

// The widest access translated code makes: 64 bytes (an AVX-512 register). Accesses are 1, 2, 4,
// ... kMaxAccessWidth bytes wide; a region smaller than that is never cached (its accesses are
// all emulated).
inline constexpr size_t kMaxAccessWidth = 64;
inline constexpr size_t kAccessWidths = 7;  // 1 << 0 ... 1 << 6

struct RegionCache {
  // The region: an access of 1 << i bytes at `address` lies whole in it when (address - low) <=
  // limit[i]; it is made at address + delta.
  uint64_t low;
  uint64_t limit[kAccessWidths];  // the region's size minus 1 << i
  int64_t delta;                  // the alias's address minus low
  uint64_t generation;            // of the regions it was found in (0: nothing cached)
  // An untraced stretch [gap_low, gap_high) found in generation gap_generation.
  uint64_t gap_low;
  uint64_t gap_high;
  uint64_t gap_generation;
  // The lookup thunk's question (an address and a width) and answer (non-zero: traced, and now
  // cached above).
  uint64_t query_address;
  uint64_t query_width;
  uint64_t query_hit;
};

// The regions as every thread sees them.
struct RegionView {
  std::atomic<uint64_t> generation;  // changes whenever regions come or go; never 0
  // Every region an access can be made inline in lies within [filter_low, filter_high): an
  // address outside needs no lookup. (A view too narrow only costs faults: the access then runs
  // on the program's memory, and the engine emulates it.)
  std::atomic<uint64_t> filter_low;
  std::atomic<uint64_t> filter_high;
};
RegionView& region_view();

// Called by the engine after every change of the regions (normal context, serialized by the
// caller): a new generation, and the filter.
void publish_regions(uint64_t filter_low, uint64_t filter_high);

// The engine's answer for an access (core/code_cache_interface.hpp). The lookup is called on the
// thread, from translated code through the thunk, with only the general registers saved: it must
// be vector-free code (cmake/mmiotrace_options.cmake).
using mmiotrace::RegionAnswer;
using mmiotrace::RegionLookup;
void set_region_lookup(RegionLookup lookup);

// Runs `run` (a program's signal handler) and gives this thread's cache back as it was before.
// If `run` leaves by siglongjmp(), what it cached stays: every answer it wrote is whole.
template <typename Run>
void keep_region_cache_across(RegionCache& cache, Run run) {
  const RegionCache saved = cache;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  run();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  cache = saved;
}

// This thread's cache; its offset from the thread pointer is the same in every thread.
RegionCache& this_thread_region_cache();
intptr_t region_cache_tls_offset();

}  // namespace mmiotrace::codecache

// Saves the general registers and the flags, answers this thread's RegionCache query (query_hit,
// and the cached region or gap), restores them. Called by translated code only (its stack is
// 16-byte aligned or 8 off; the thunk aligns it). Defined in region_lookup_thunk.S.
extern "C" void mmiotrace_region_lookup_thunk();
// What the thunk calls. Vector-free.
extern "C" void mmiotrace_region_lookup_from_thunk();
