// mmiotrace: signal-safe
// The code cache's policy (see policy.hpp).
#include "codecache/policy.hpp"

#include <atomic>

namespace mmiotrace::codecache {
namespace {

constinit std::atomic<CodeCachePolicy> g_policy{CodeCachePolicy::Adaptive};

// Whether the NUL-terminated `text` is `name`, compared here: the C library's strcmp is not one
// the signal-safety check knows to be safe.
bool is_named(const char* text, const char* name) {
  while (*text != '\0' && *text == *name) {
    ++text;
    ++name;
  }
  return *text == *name;
}

}  // namespace

void set_code_cache_policy(CodeCachePolicy policy) {
  g_policy.store(policy, std::memory_order_relaxed);
}

CodeCachePolicy code_cache_policy() {
  return g_policy.load(std::memory_order_relaxed);
}

bool code_cache_policy_named(const char* name, CodeCachePolicy* out) {
  if (is_named(name, "adaptive")) {
    *out = CodeCachePolicy::Adaptive;
  } else if (is_named(name, "eager")) {
    *out = CodeCachePolicy::Eager;
  } else {
    return false;
  }
  return true;
}

}  // namespace mmiotrace::codecache
