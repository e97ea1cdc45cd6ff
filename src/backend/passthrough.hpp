// mmiotrace: signal-safe
// The Passthrough backend: real memory or a real device, reached through an alias (a second
// mapping of the same memory that only the tracer uses, never protected).
#pragma once

#include "arch/machine.hpp"
#include "backend/backend.hpp"

namespace mmiotrace::backend {

class Passthrough final : public Backend {
 public:
  explicit Passthrough(uintptr_t alias) : alias_(alias) {}

  int read(uint64_t offset, size_t width, uint8_t* out) override {
    return arch::guarded_load(alias_ + offset, out, width);
  }
  int write(uint64_t offset, size_t width, const uint8_t* in) override {
    return arch::guarded_store(alias_ + offset, in, width);
  }
  int compare_exchange(uint64_t offset, size_t width, uint8_t* expected,
                       const uint8_t* desired) override {
    return arch::guarded_compare_exchange(alias_ + offset, expected, desired, width);
  }
  uintptr_t direct_address(uint64_t offset) override { return alias_ + offset; }
  uintptr_t alias() const { return alias_; }

 private:
  uintptr_t alias_;
};

}  // namespace mmiotrace::backend
