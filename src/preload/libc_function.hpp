// The libc function an interposer stands in front of: found with dlsym(RTLD_NEXT) on first use
// (an interposer may run before the shim's constructor) and cached. Any thread; every thread
// finds the same function, so the cache needs no more than relaxed atomics.
#pragma once

#include <dlfcn.h>

#include <atomic>

namespace mmiotrace::preload {

template <typename Function>
Function libc_function(std::atomic<Function>& cache, const char* name) {
  Function function = cache.load(std::memory_order_relaxed);
  if (function == nullptr) {
    function = reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
    cache.store(function, std::memory_order_relaxed);
  }
  return function;
}

}  // namespace mmiotrace::preload
