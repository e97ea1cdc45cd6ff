// mmiotrace: signal-safe
// The Model backend: a device model (include/mmiotrace/device.h) answers every access to a
// mapping of a virtual device. Accesses arrive from the emulator, in signal handlers on any
// thread; the backend serializes them per device and passes the time to models that keep it.
#pragma once

#include <atomic>

#include "backend/backend.hpp"
#include "mmiotrace/device.h"

namespace mmiotrace::backend {

// One device made from a model, shared by all its mappings. Created and destroyed in normal
// context (by the shim); `busy` is taken by handlers around each call into the model.
struct DeviceInstance {
  const mmiotrace_device_model* model = nullptr;
  void* device = nullptr;
  uint64_t size = 0;  // model->size(device), read once
  std::atomic<bool> busy{false};
};

// The accesses of one mapping of `device`, whose first byte is register offset `base`.
class ModelBackend final : public Backend {
 public:
  ModelBackend(DeviceInstance& device, uint64_t base) : device_(device), base_(base) {}

  int read(uint64_t offset, size_t width, uint8_t* out) override;
  int write(uint64_t offset, size_t width, const uint8_t* in) override;
  // A locked read-modify-write: read, compare and write with the device held.
  int compare_exchange(uint64_t offset, size_t width, uint8_t* expected,
                       const uint8_t* desired) override;
  uintptr_t direct_address(uint64_t) override { return 0; }

 private:
  void access(uint64_t offset, size_t width, uint8_t* bytes, bool write);
  DeviceInstance& device_;
  uint64_t base_;
};

}  // namespace mmiotrace::backend
