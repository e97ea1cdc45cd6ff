// mmiotrace: signal-safe, vector-free
// Each thread's cache of traced and untraced memory, and the regions' view (see
// region_cache.hpp).
#include "codecache/region_cache.hpp"

namespace mmiotrace::codecache {
namespace {

[[gnu::tls_model("initial-exec")]] constinit thread_local RegionCache t_cache = {};
alignas(64) constinit RegionView g_view = {{1}, {0}, {0}};
constinit std::atomic<RegionLookup> g_lookup{nullptr};

}  // namespace

RegionView& region_view() {
  return g_view;
}

void publish_regions(uint64_t filter_low, uint64_t filter_high) {
  // The filter first: a thread that sees the new generation sees a filter at least this new.
  g_view.filter_low.store(filter_low, std::memory_order_relaxed);
  g_view.filter_high.store(filter_high, std::memory_order_relaxed);
  g_view.generation.fetch_add(1, std::memory_order_release);
}

void set_region_lookup(RegionLookup lookup) {
  g_lookup.store(lookup);
}

RegionCache& this_thread_region_cache() {
  return t_cache;
}

intptr_t region_cache_tls_offset() {
  return reinterpret_cast<intptr_t>(&t_cache) -
         reinterpret_cast<intptr_t>(__builtin_thread_pointer());
}

}  // namespace mmiotrace::codecache

extern "C" void mmiotrace_region_lookup_from_thunk() {
  using namespace mmiotrace::codecache;
  RegionCache& cache = t_cache;
  // The generation before the answer: if the regions change meanwhile, what is cached is found
  // stale at the next check, never taken for newer than it is.
  const uint64_t generation = g_view.generation.load(std::memory_order_acquire);
  RegionAnswer answer = {};
  if (RegionLookup lookup = g_lookup.load(std::memory_order_relaxed)) {
    lookup(cache.query_address, cache.query_width, &answer);
  } else {
    answer.gap_low = 0;
    answer.gap_high = ~uint64_t{0};
  }
  // (A region smaller than the widest access is not cached: its accesses are all emulated.)
  // Each answer is written stale first and stamped last: a handler of a signal that interrupts
  // the writes finds it stale, makes a lookup of its own, and gets the cache back as it found it
  // when it returns (keep_region_cache_across()), so the writes go on from where they were.
  if (answer.traced && answer.size >= kMaxAccessWidth) {
    cache.generation = 0;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    cache.low = answer.low;
    for (size_t i = 0; i < kAccessWidths; ++i)
      cache.limit[i] = answer.size - (uint64_t{1} << i);
    cache.delta = answer.delta;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    cache.generation = generation;
    cache.query_hit = 1;
    return;
  }
  if (!answer.traced) {
    cache.gap_generation = 0;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    cache.gap_low = answer.gap_low;
    cache.gap_high = answer.gap_high;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    cache.gap_generation = generation;
  }
  cache.query_hit = 0;
}
