// mmiotrace.hpp: the C++ API of mmiotrace: the C API (mmiotrace.h) with types, error codes and
// an RAII probe. The handler contract of mmiotrace.h applies.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "mmiotrace/mmiotrace.h"

namespace mmiotrace {

using Access = mmiotrace_access;
using ProbeHandler = mmiotrace_handler;

enum class AccessKind : uint32_t {
  None = MMIOTRACE_ACCESS_NONE,
  Read = MMIOTRACE_ACCESS_READ,
  Write = MMIOTRACE_ACCESS_WRITE,
  ReadWrite = MMIOTRACE_ACCESS_READ_WRITE,
};

inline AccessKind kind_of(const Access& access) {
  return static_cast<AccessKind>(access.kind);
}

enum class Strategy {
  SingleStep = MMIOTRACE_STRATEGY_SINGLE_STEP,
  Emulate = MMIOTRACE_STRATEGY_EMULATE,
};

inline std::error_code errno_code(int negative_errno) {
  return negative_errno == 0 ? std::error_code{}
                             : std::error_code{-negative_errno, std::generic_category()};
}

// A kmmio probe. The object must not move while registered (it is non-copyable, non-movable).
class Probe : public mmiotrace_probe {
 public:
  Probe(const volatile void* address, size_t length, ProbeHandler pre, ProbeHandler post,
        void* user = nullptr, uintptr_t alias_address = 0)
      : mmiotrace_probe{
            reinterpret_cast<uintptr_t>(address), length, pre, post, user, alias_address} {}
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  std::error_code arm() { return errno_code(mmiotrace_register_probe(this)); }
  std::error_code disarm() { return errno_code(mmiotrace_unregister_probe(this)); }
};

// A probe registered for the lifetime of the object.
class ScopedProbe : public Probe {
 public:
  ScopedProbe(const volatile void* address, size_t length, ProbeHandler pre, ProbeHandler post,
              void* user = nullptr, uintptr_t alias_address = 0)
      : Probe(address, length, pre, post, user, alias_address), status_(arm()) {}
  ~ScopedProbe() {
    if (!status_) disarm();
  }
  // Whether registration succeeded; the probe is armed only when this is empty.
  std::error_code status() const { return status_; }

 private:
  std::error_code status_;
};

inline std::error_code set_strategy(Strategy strategy) {
  return errno_code(mmiotrace_set_strategy(static_cast<mmiotrace_strategy>(strategy)));
}
inline Strategy strategy() {
  return static_cast<Strategy>(mmiotrace_get_strategy());
}
inline size_t probe_count() {
  return mmiotrace_probe_count();
}
inline mmiotrace_stats stats() {
  mmiotrace_stats result;
  mmiotrace_get_stats(&result);
  return result;
}

}  // namespace mmiotrace
