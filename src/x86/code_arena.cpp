// mmiotrace: signal-safe
// Chunked bump allocation of code and data memory (see code_arena.hpp).
#include "x86/code_arena.hpp"

#include <sys/mman.h>

#include <atomic>

#include "core/process_layout.hpp"
#include "core/syscall.hpp"

namespace mmiotrace::x86 {
namespace {

constexpr size_t kChunkSize = 1 << 20;
constexpr uintptr_t kPage = 4096;
constexpr uintptr_t kLowestMapping = 1 << 16;  // vm.mmap_min_addr's default

struct Chunk {
  uint8_t* base;
  std::atomic<size_t> used;
};

// A lock-free arena: the current chunk is replaced by CAS when full. A chunk that loses the
// race is kept as a spare for the next replacement.
class Arena {
 public:
  explicit constexpr Arena(int prot) : prot_(prot) {}

  void* allocate(size_t size, size_t alignment) {
    size = (size + alignment - 1) & ~(alignment - 1);
    if (size > kChunkSize / 2) return nullptr;
    for (int attempt = 0; attempt < 8; ++attempt) {
      Chunk* chunk = current_.load();
      if (chunk != nullptr) {
        size_t offset = chunk->used.fetch_add(size);
        if (offset + size <= kChunkSize - sizeof(Chunk)) return chunk->base + offset;
      }
      Chunk* fresh = new_chunk();
      if (fresh == nullptr) return nullptr;
      if (!current_.compare_exchange_strong(chunk, fresh)) spare_.store(fresh);
    }
    return nullptr;
  }

 private:
  Chunk* new_chunk() {
    if (Chunk* spare = spare_.exchange(nullptr)) return spare;
    long mapped = sys::mmap(0, kChunkSize, prot_, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped < 0 && mapped > -4096) return nullptr;
    auto* memory = reinterpret_cast<uint8_t*>(mapped);
    // The chunk's header lives at its end.
    auto* chunk = reinterpret_cast<Chunk*>(memory + kChunkSize - sizeof(Chunk));
    chunk->base = memory;
    chunk->used.store(0);
    return chunk;
  }

  int prot_;
  std::atomic<Chunk*> current_{nullptr};
  std::atomic<Chunk*> spare_{nullptr};
};

constinit Arena g_code(PROT_READ | PROT_WRITE | PROT_EXEC);

// Code chunks placed near given addresses (kNearChunkSize, aligned to it): a fixed table of
// slots, each claimed once (by CAS) and then carved with atomic bumps from kNearChunkStart on.
// A chunk begins with its owner map: for each kNearGranule of it, 1 + the offset in the chunk of
// the owner set_near_owner() recorded there (0: none), so that near_owner() needs no search.
struct NearChunk {
  std::atomic<uintptr_t> base{0};  // 0: the slot is free
  std::atomic<size_t> used{0};
};
constexpr size_t kGranules = kNearChunkSize / kNearGranule;
constexpr size_t kNearChunkStart = kGranules * sizeof(uint32_t);  // after the owner map
constinit NearChunk g_near[kMaxNearChunks];
constinit std::atomic<size_t> g_near_count{0};
// Near areas found full: no chunk could be mapped within reach of them, so that a later request
// near the same place (another site of the same library) makes no system call. By the 256 MiB
// area `near` lies in; once all the slots are claimed, nothing is mapped any more.
constexpr size_t kFullAreas = 16;
constinit std::atomic<uintptr_t> g_full_areas[kFullAreas] = {};
constinit std::atomic<size_t> g_full_area_next{0};
constexpr unsigned kAreaShift = 28;

// Chunks by base, for in_near_code() and near_owner(): open addressing on base >> 20.
constexpr size_t kChunkIndexSlots = 4 * kMaxNearChunks;
constinit std::atomic<uintptr_t> g_chunk_index[kChunkIndexSlots] = {};

size_t chunk_index_slot(uintptr_t base) {
  return static_cast<size_t>(((base / kNearChunkSize) * 0x9e3779b97f4a7c15ull) >> 56) %
         kChunkIndexSlots;
}

void index_chunk(uintptr_t base) {
  for (size_t probe = 0, slot = chunk_index_slot(base); probe < kChunkIndexSlots;
       ++probe, slot = (slot + 1) % kChunkIndexSlots) {
    uintptr_t expected = 0;
    if (g_chunk_index[slot].compare_exchange_strong(expected, base)) return;
  }
}

// The base of the near chunk that holds `address`, or 0.
uintptr_t chunk_holding(uintptr_t address) {
  const uintptr_t base = address & ~static_cast<uintptr_t>(kNearChunkSize - 1);
  for (size_t probe = 0, slot = chunk_index_slot(base); probe < kChunkIndexSlots;
       ++probe, slot = (slot + 1) % kChunkIndexSlots) {
    uintptr_t found = g_chunk_index[slot].load(std::memory_order_acquire);
    if (found == base) return base;
    if (found == 0) return 0;
  }
  return 0;
}

uint64_t distance(uintptr_t a, uintptr_t b) {
  return a > b ? a - b : b - a;
}

// Whether all of [base, base + size) lies within kNearReach of `near`.
bool within_reach(uintptr_t base, size_t size, uintptr_t near) {
  return distance(base, near) <= kNearReach && distance(base + size, near) <= kNearReach;
}

uint8_t* carve(NearChunk& chunk, size_t size) {
  size_t offset = chunk.used.fetch_add(size);
  if (offset + size > kNearChunkSize - kNearChunkStart) return nullptr;
  return reinterpret_cast<uint8_t*>(chunk.base.load() + kNearChunkStart + offset);
}

bool area_full(uintptr_t near) {
  const uintptr_t area = (near >> kAreaShift) + 1;  // (+1: 0 is a free slot)
  for (const auto& full : g_full_areas) {
    if (full.load(std::memory_order_relaxed) == area) return true;
  }
  return false;
}

void mark_area_full(uintptr_t near) {
  const uintptr_t area = (near >> kAreaShift) + 1;
  g_full_areas[g_full_area_next.fetch_add(1) % kFullAreas].store(area, std::memory_order_relaxed);
}

// Maps `length` bytes of code memory at `address` when all of it is free, in user space and out
// of the heap's and the stack's `room`: `address`, or 0. MAP_FIXED_NOREPLACE, so that nothing of
// the program's is ever replaced.
uintptr_t map_code_at(uintptr_t address, size_t length, const GrowthRoom& room) {
  if (address + length > kUserSpaceEnd || !room.clear(address, length)) return 0;
  long mapped = sys::mmap(address, length, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mapped < 0 && mapped > -4096) return 0;  // taken (EEXIST), or refused there
  if (static_cast<uintptr_t>(mapped) == address) return address;
  sys::munmap(static_cast<uintptr_t>(mapped), length);  // an old kernel's hint
  return 0;
}

// Maps a fresh chunk near `near`: free address ranges are tried 16 MiB apart, alternately above
// and below.
uintptr_t map_near(uintptr_t near) {
  const uintptr_t aligned = near & ~static_cast<uintptr_t>(kNearChunkSize - 1);
  const GrowthRoom room = GrowthRoom::now();
  for (uintptr_t step = 1; step < 1024; ++step) {
    for (int side = 0; side < 2; ++side) {
      uintptr_t delta = step * kNearChunkSize * 16;
      if (side == 0 && aligned > UINTPTR_MAX - delta) continue;
      if (side == 1 && aligned < delta + kNearChunkSize) continue;
      uintptr_t hint = side == 0 ? aligned + delta : aligned - delta;
      if (!within_reach(hint, kNearChunkSize, near)) continue;
      if (map_code_at(hint, kNearChunkSize, room) != 0) return hint;
    }
  }
  return 0;
}
constinit Arena g_data(PROT_READ | PROT_WRITE);

// Pages mapped for allocate_code_in_window(), each carved upward by its one caller at a time.
struct WindowPages {
  uintptr_t base;
  size_t length;
  size_t used;
};
constexpr size_t kMaxWindowPages = 256;
constexpr uint64_t kWindowPagesTried = 64;  // mappings tried per window, spread over it
constinit WindowPages g_window_pages[kMaxWindowPages] = {};
constinit size_t g_window_page_count = 0;

// Where in `pages` code of `size` bytes beginning in [low, high] fits, or 0.
uintptr_t fit_in(const WindowPages& pages, uintptr_t low, uintptr_t high, size_t size) {
  uintptr_t start = pages.base + pages.used > low ? pages.base + pages.used : low;
  if (start > high || start + size > pages.base + pages.length) return 0;
  return start;
}

}  // namespace

uint8_t* allocate_code(size_t size) {
  return static_cast<uint8_t*>(g_code.allocate(size, 16));
}
void* allocate_data(size_t size) {
  return g_data.allocate(size, 64);
}

bool in_near_code(uintptr_t address) {
  return chunk_holding(address) != 0;
}

uint8_t* allocate_code_near(uintptr_t near, size_t size) {
  size = (size + kNearGranule - 1) & ~(kNearGranule - 1);
  if (size > (kNearChunkSize - kNearChunkStart) / 2) return nullptr;
  const size_t claimed = g_near_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < claimed && i < kMaxNearChunks; ++i) {
    NearChunk& chunk = g_near[i];
    uintptr_t base = chunk.base.load(std::memory_order_acquire);
    if (base == 0 || !within_reach(base, kNearChunkSize, near)) continue;
    if (uint8_t* code = carve(chunk, size)) return code;
  }
  if (claimed >= kMaxNearChunks || area_full(near)) return nullptr;  // no system call
  uintptr_t base = map_near(near);
  if (base == 0) {
    mark_area_full(near);
    return nullptr;
  }
  const size_t slot = g_near_count.fetch_add(1);
  if (slot >= kMaxNearChunks) {
    sys::munmap(base, kNearChunkSize);  // every slot is taken
    return nullptr;
  }
  // Nothing carves a slot before its base is published: its `used` is still 0.
  g_near[slot].base.store(base, std::memory_order_release);
  index_chunk(base);
  return carve(g_near[slot], size);
}

void set_near_owner(const uint8_t* code, size_t size, const void* owner) {
  const auto address = reinterpret_cast<uintptr_t>(code);
  const uintptr_t base = chunk_holding(address);
  const auto owner_address = reinterpret_cast<uintptr_t>(owner);
  if (base == 0 || owner_address < base || owner_address - base >= kNearChunkSize) return;
  auto* map = reinterpret_cast<std::atomic<uint32_t>*>(base);
  const auto value = static_cast<uint32_t>(owner_address - base + 1);
  for (uintptr_t at = address; at < address + size; at += kNearGranule) {
    map[(at - base) / kNearGranule].store(value, std::memory_order_release);
  }
}

const void* near_owner(uintptr_t address) {
  const uintptr_t base = chunk_holding(address);
  if (base == 0) return nullptr;
  const auto* map = reinterpret_cast<const std::atomic<uint32_t>*>(base);
  uint32_t value = map[(address - base) / kNearGranule].load(std::memory_order_acquire);
  return value == 0 ? nullptr : reinterpret_cast<const void*>(base + value - 1);
}

size_t near_code_bytes() {
  size_t claimed = g_near_count.load(std::memory_order_relaxed);
  return (claimed < kMaxNearChunks ? claimed : kMaxNearChunks) * kNearChunkSize;
}

uint8_t* allocate_code_in_window(uintptr_t low, uintptr_t high, size_t size) {
  if (low < kLowestMapping) low = kLowestMapping;
  if (high >= kUserSpaceEnd - size) high = kUserSpaceEnd - size - 1;
  if (low > high) return nullptr;
  for (size_t i = 0; i < g_window_page_count; ++i) {
    WindowPages& pages = g_window_pages[i];
    if (uintptr_t start = fit_in(pages, low, high, size)) {
      pages.used = start + size - pages.base;
      return reinterpret_cast<uint8_t*>(start);
    }
  }
  if (g_window_page_count == kMaxWindowPages) return nullptr;
  const uintptr_t first = low & ~(kPage - 1);
  const uint64_t pages_in_window = ((high & ~(kPage - 1)) - first) / kPage + 1;
  const uint64_t step =
      pages_in_window <= kWindowPagesTried ? 1 : pages_in_window / kWindowPagesTried;
  const GrowthRoom room = GrowthRoom::now();
  for (uint64_t index = 0; index < pages_in_window; index += step) {
    uintptr_t page = first + index * kPage;
    uintptr_t start = page > low ? page : low;
    size_t length = (start + size - page + kPage - 1) & ~(kPage - 1);  // one page, or two
    if (map_code_at(page, length, room) == 0) continue;
    g_window_pages[g_window_page_count++] = {page, length, start + size - page};
    return reinterpret_cast<uint8_t*>(start);
  }
  return nullptr;
}

}  // namespace mmiotrace::x86
