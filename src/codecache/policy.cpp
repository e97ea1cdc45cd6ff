// mmiotrace: signal-safe
// The code cache's policy (see policy.hpp).
#include "codecache/policy.hpp"

#include <atomic>

namespace mmiotrace::codecache {
namespace {

constinit std::atomic<CodeCachePolicy> g_policy{CodeCachePolicy::Adaptive};

}  // namespace

void set_code_cache_policy(CodeCachePolicy policy) {
  g_policy.store(policy, std::memory_order_relaxed);
}

CodeCachePolicy code_cache_policy() {
  return g_policy.load(std::memory_order_relaxed);
}

}  // namespace mmiotrace::codecache
