// mmiotrace: signal-safe
// The probes and armed pages as signal handlers see them: an immutable, sorted table that the
// registry replaces as a whole (RCU style) and handlers search without locks.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "backend/backend.hpp"
#include "core/address_range.hpp"
#include "kmmio/epoch_gate.hpp"
#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::kmmio {

// One armed page (the kernel's kmmio_fault_page).
struct FaultPage {
  uintptr_t page = 0;
  // The page's own protection: what the program asked for, given back on disarm and checked
  // against each access. Written by the registry (when the program calls mprotect), read by
  // handlers.
  std::atomic<int> protection{0};
  // Probes covering the page. Registry only, under its mutex.
  int probe_count = 0;
  // Threads that single-step with this page open. Any thread, from its signal handlers.
  std::atomic<int> open_count{0};
  // Set by the registry before the page is disarmed; handlers must then leave it alone.
  std::atomic<bool> retiring{false};
  // The page in an alias of its memory (never armed), or 0: the emulator reaches the page's
  // bytes there. Set by the registry when a probe with an alias covers the page.
  std::atomic<uintptr_t> alias{0};
  // Set by the registry when a probe with a backend of its own (a device model, a replay)
  // covers the page: its accesses must be emulated, the page holds nothing.
  std::atomic<bool> modeled{false};
};

struct ProbeEntry {
  AddressRange range;
  mmiotrace_probe* probe = nullptr;
  backend::Backend* backend = nullptr;  // what the probe's accesses go to; null: single-step
};

// Immutable once published. Built and freed by the registry; read by handlers inside the gate.
struct ProbeTable {
  std::vector<ProbeEntry> probes;  // sorted by range.begin, disjoint
  std::vector<FaultPage*> pages;   // sorted by page

  const ProbeEntry* find_probe(uintptr_t address) const;
  // The probe that holds `address`, or (probe null) the stretch [gap_low, gap_high) around it
  // that no probe touches.
  struct Neighbourhood {
    const ProbeEntry* probe;
    uintptr_t gap_low;
    uintptr_t gap_high;
  };
  Neighbourhood neighbourhood(uintptr_t address) const;
  // The lowest probe that shares a byte with `range`.
  const ProbeEntry* find_overlapping(AddressRange range) const;
  // Inline: every trap asks, twice.
  FaultPage* find_page(uintptr_t address) const {
    const uintptr_t page = page_floor(address);
    size_t low = 0;
    size_t high = pages.size();
    while (low < high) {
      const size_t middle = low + (high - low) / 2;
      if (pages[middle]->page < page) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low < pages.size() && pages[low]->page == page ? pages[low] : nullptr;
  }
};

// The published table and the gate that protects it. Handlers: enter the gate, then load.
namespace detail {
extern constinit EpochGate g_gate;
extern constinit std::atomic<const ProbeTable*> g_table;
}  // namespace detail
inline EpochGate& table_gate() {
  return detail::g_gate;
}
inline std::atomic<const ProbeTable*>& published_table() {
  return detail::g_table;
}

}  // namespace mmiotrace::kmmio
