// mmiotrace: signal-safe
// The code cache's sites (see translation_cache.hpp).
#include "codecache/translation_cache.hpp"

#include <atomic>

#include "codecache/policy.hpp"
#include "x86/code_arena.hpp"

namespace mmiotrace::codecache {
namespace {

enum SiteState : uint8_t { kCounting, kTranslating, kTranslated, kRefused };

// `pc` is claimed by CAS and never changes after; `block` is published (release) before
// `state` says kTranslated.
struct Site {
  std::atomic<uintptr_t> pc{0};
  std::atomic<uint32_t> traps{0};
  std::atomic<uint8_t> state{kCounting};
  std::atomic<const BlockTranslation*> block{nullptr};
};
constinit Site g_sites[kMaxSites];
constinit std::atomic<size_t> g_translated{0};
constinit std::atomic<size_t> g_refused{0};

size_t slot_of(uintptr_t pc) {
  return static_cast<size_t>((pc * 0x9e3779b97f4a7c15ull) >> 51) % kMaxSites;
}

// The site of `pc`, claimed when new; null when its neighbourhood of the table is full.
Site* site_of(uintptr_t pc) {
  const size_t start = slot_of(pc);
  for (size_t probe = 0; probe < 16; ++probe) {
    Site& site = g_sites[(start + probe) % kMaxSites];
    uintptr_t owner = site.pc.load(std::memory_order_acquire);
    if (owner == 0) {
      uintptr_t expected = 0;
      if (!site.pc.compare_exchange_strong(expected, pc) && expected != pc) continue;
      owner = pc;
    }
    if (owner == pc) return &site;
  }
  return nullptr;
}

// The translation whose code holds `pc` (instructions and exit stubs), or null.
const BlockTranslation* block_holding(uintptr_t pc) {
  return static_cast<const BlockTranslation*>(x86::near_owner(pc));
}

}  // namespace

const BlockTranslation* block_for_fault(uintptr_t pc) {
  Site* site = site_of(pc);
  if (site == nullptr) return nullptr;  // the table is full there: emulated
  switch (site->state.load(std::memory_order_acquire)) {
    case kTranslated: {
      const BlockTranslation* block = site->block.load(std::memory_order_acquire);
      if (block->still_holds(pc)) return block;
      // Other code there now (unloaded, and something else loaded at the same address): the
      // site starts again. (Its old translation stays: a thread may still be running it.)
      site->traps.store(0, std::memory_order_relaxed);
      site->state.store(kCounting, std::memory_order_release);
      return nullptr;
    }
    case kCounting:
      break;
    default:  // refused, or being translated by another thread
      return nullptr;
  }
  const uint32_t translate_after =
      code_cache_policy() == CodeCachePolicy::Eager ? 1 : kTranslateAfterTraps;
  if (site->traps.fetch_add(1, std::memory_order_relaxed) + 1 < translate_after) return nullptr;
  uint8_t counting = kCounting;
  if (!site->state.compare_exchange_strong(counting, kTranslating)) return nullptr;
  const char* why = "";
  bool lasting = true;
  const BlockTranslation* block = translate_site(pc, &why, &lasting);
  if (block != nullptr) {
    site->block.store(block, std::memory_order_release);
    site->state.store(kTranslated, std::memory_order_release);
    g_translated.fetch_add(1, std::memory_order_relaxed);
  } else if (lasting) {
    site->state.store(kRefused, std::memory_order_release);
    g_refused.fetch_add(1, std::memory_order_relaxed);
  } else {
    site->state.store(kCounting, std::memory_order_release);
  }
  return block;
}

uintptr_t original_pc_of(uintptr_t pc) {
  const BlockTranslation* block = block_holding(pc);
  uintptr_t original = block != nullptr ? block->original_pc(pc) : 0;
  return original != 0 ? original : pc;
}

bool in_critical_part(uintptr_t pc) {
  const BlockTranslation* block = block_holding(pc);
  return block != nullptr && block->in_critical_part(pc);
}

bool in_code_cache(uintptr_t pc) {
  return block_holding(pc) != nullptr;
}

SiteCounts site_counts() {
  return {g_translated.load(std::memory_order_relaxed), g_refused.load(std::memory_order_relaxed)};
}

}  // namespace mmiotrace::codecache
