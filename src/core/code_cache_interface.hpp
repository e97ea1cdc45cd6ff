// mmiotrace: signal-safe
// What the engine and a code cache exchange, with no instruction set in it: the answer
// translated code asks of the engine for an access, the counts of sites, and the policy's names.
// src/codecache (x86-64) uses them, and so does the empty cache of an architecture without one
// (arch/aarch64/code_cache.hpp), so that the engine sees the same types on both.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace {

// The engine's answer for an access of `width` bytes at `address`: traced (it lies whole in a
// region that an alias reaches: [low, low + size), at delta from it), or untraced, with the
// stretch around it that holds no such region [gap_low, gap_high).
struct RegionAnswer {
  bool traced;
  uint64_t low;
  uint64_t size;
  int64_t delta;
  uint64_t gap_low;
  uint64_t gap_high;
};
using RegionLookup = void (*)(uintptr_t address, size_t width, RegionAnswer* out);

// How many sites have been translated, and how many were refused, so far.
struct SiteCounts {
  size_t translated;
  size_t refused;
};

// When sites are translated and patched (codecache/policy.hpp says what each does).
enum class CodeCachePolicy : uint8_t { Adaptive, Eager };

// The policy called `name` ("adaptive", "eager"): false when there is none of that name. Compares
// by hand: the C library's strcmp is not one the signal-safety check knows to be safe.
inline bool code_cache_policy_named(const char* name, CodeCachePolicy* out) {
  auto is = [name](const char* wanted) {
    const char* text = name;
    while (*text != '\0' && *text == *wanted) {
      ++text;
      ++wanted;
    }
    return *text == *wanted;
  };
  if (is("adaptive")) {
    *out = CodeCachePolicy::Adaptive;
  } else if (is("eager")) {
    *out = CodeCachePolicy::Eager;
  } else {
    return false;
  }
  return true;
}

}  // namespace mmiotrace
