// mmiotrace: signal-safe, vector-free
// Lock-free lookups in the published probe table (see probe_table.hpp).
#include "kmmio/probe_table.hpp"

namespace mmiotrace::kmmio {
namespace detail {

constinit EpochGate g_gate;
constinit std::atomic<const ProbeTable*> g_table{nullptr};

}  // namespace detail

ProbeTable::Neighbourhood ProbeTable::neighbourhood(uintptr_t address) const {
  // The first probe that starts above `address`; the one before it may hold it.
  size_t low = 0;
  size_t high = probes.size();
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (probes[middle].range.begin <= address) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  Neighbourhood found = {nullptr, 0, ~uintptr_t{0}};
  if (low > 0) {
    const ProbeEntry& before = probes[low - 1];
    if (before.range.contains(address)) {
      found.probe = &before;
      return found;
    }
    found.gap_low = before.range.end;
  }
  if (low < probes.size()) found.gap_high = probes[low].range.begin;
  return found;
}

const ProbeEntry* ProbeTable::find_probe(uintptr_t address) const {
  // The last probe that starts at or below `address`.
  size_t low = 0;
  size_t high = probes.size();
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (probes[middle].range.begin <= address) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  if (low == 0) return nullptr;
  const ProbeEntry* entry = &probes[low - 1];
  return entry->range.contains(address) ? entry : nullptr;
}

const ProbeEntry* ProbeTable::find_overlapping(AddressRange range) const {
  if (const ProbeEntry* entry = find_probe(range.begin)) return entry;
  // Otherwise the first probe that starts inside the range.
  size_t low = 0;
  size_t high = probes.size();
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (probes[middle].range.begin < range.begin) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low < probes.size() && probes[low].range.begin < range.end ? &probes[low] : nullptr;
}

}  // namespace mmiotrace::kmmio
