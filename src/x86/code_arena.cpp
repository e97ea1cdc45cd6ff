// mmiotrace: signal-safe
// Chunked bump allocation of code and data memory (see code_arena.hpp).
#include "x86/code_arena.hpp"

#include <sys/mman.h>

#include <atomic>

#include "core/syscall.hpp"

namespace mmiotrace::x86 {
namespace {

constexpr size_t kChunkSize = 1 << 20;

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
constinit Arena g_data(PROT_READ | PROT_WRITE);

}  // namespace

uint8_t* allocate_code(size_t size) { return static_cast<uint8_t*>(g_code.allocate(size, 16)); }
void* allocate_data(size_t size) { return g_data.allocate(size, 64); }

}  // namespace mmiotrace::x86
