// Shared helpers for the engine's unit tests: test memory, accesses with exact instructions,
// and a probe handler that records what it is told without allocating.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::testing {

// Shared memory of `pages` pages, unmapped at the end of the scope.
class TestMemory {
 public:
  explicit TestMemory(size_t pages, int prot = PROT_READ | PROT_WRITE) : size_(pages * 4096) {
    void* memory = mmap(nullptr, size_, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = memory == MAP_FAILED ? nullptr : static_cast<uint8_t*>(memory);
  }
  ~TestMemory() {
    if (base_) munmap(base_, size_);
  }
  TestMemory(const TestMemory&) = delete;
  TestMemory& operator=(const TestMemory&) = delete;

  uint8_t* base() const { return base_; }
  uintptr_t address(size_t offset = 0) const { return reinterpret_cast<uintptr_t>(base_) + offset; }
  size_t size() const { return size_; }

 private:
  uint8_t* base_;
  size_t size_;
};

// Stores and loads with one known instruction each, at any alignment.
inline void store8(uintptr_t a, uint8_t v) {
  asm volatile("movb %b1, (%0)" ::"r"(a), "q"(v) : "memory");
}
inline void store16(uintptr_t a, uint16_t v) {
  asm volatile("movw %w1, (%0)" ::"r"(a), "r"(v) : "memory");
}
inline void store32(uintptr_t a, uint32_t v) {
  asm volatile("movl %k1, (%0)" ::"r"(a), "r"(v) : "memory");
}
inline void store64(uintptr_t a, uint64_t v) {
  asm volatile("movq %q1, (%0)" ::"r"(a), "r"(v) : "memory");
}
inline uint8_t load8(uintptr_t a) {
  uint32_t v;
  asm volatile("movzbl (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return static_cast<uint8_t>(v);
}
inline uint16_t load16(uintptr_t a) {
  uint32_t v;
  asm volatile("movzwl (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return static_cast<uint16_t>(v);
}
inline uint32_t load32(uintptr_t a) {
  uint32_t v;
  asm volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return v;
}
inline uint64_t load64(uintptr_t a) {
  uint64_t v;
  asm volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return v;
}

// What a probe handler was told, kept in a fixed array (handlers must not allocate).
struct SeenAccess {
  int phase;  // 0 pre, 1 post
  mmiotrace_access access;
  void* user_data;
};

class AccessLog {
 public:
  static constexpr size_t kCapacity = 4096;
  void clear() { count_.store(0); }
  size_t size() const {
    size_t n = count_.load();
    return n < kCapacity ? n : kCapacity;
  }
  const SeenAccess& operator[](size_t i) const { return entries_[i]; }
  // Only the post-handler entries.
  size_t post_count() const {
    size_t n = 0;
    for (size_t i = 0; i < size(); ++i)
      n += entries_[i].phase == 1;
    return n;
  }
  const SeenAccess* nth_post(size_t index) const {
    for (size_t i = 0; i < size(); ++i) {
      if (entries_[i].phase == 1 && index-- == 0) return &entries_[i];
    }
    return nullptr;
  }
  void add(int phase, const mmiotrace_probe* probe, const mmiotrace_access* access) {
    size_t slot = count_.fetch_add(1);
    if (slot < kCapacity) entries_[slot] = {phase, *access, probe->user_data};
  }

 private:
  std::atomic<size_t> count_{0};
  SeenAccess entries_[kCapacity] = {};
};

AccessLog& access_log();

// Handlers that append to access_log().
void log_pre(mmiotrace_probe* probe, const mmiotrace_access* access, void* ucontext);
void log_post(mmiotrace_probe* probe, const mmiotrace_access* access, void* ucontext);

// Protection of the page at `address`, from /proc/self/maps (-1 when unmapped).
int page_protection(uintptr_t address);

}  // namespace mmiotrace::testing
