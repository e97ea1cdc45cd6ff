// mmiotrace: signal-safe
// The Model backend (see model_backend.hpp).
#include "backend/model_backend.hpp"

#include <time.h>

#include <cstring>

#include "arch/guarded_access_status.hpp"
#include "core/syscall.hpp"

namespace mmiotrace::backend {
namespace {

// Holds the device for one access (handlers run with other signals blocked, so the holder
// cannot be interrupted by another access of its own thread).
class DeviceHold {
 public:
  explicit DeviceHold(DeviceInstance& device) : device_(device) {
    while (device_.busy.exchange(true, std::memory_order_acquire))
      sys::sched_yield();
    if (device_.model->advance != nullptr) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      device_.model->advance(device_.device, static_cast<uint64_t>(now.tv_sec) * 1000000000u +
                                                 static_cast<uint64_t>(now.tv_nsec));
    }
  }
  ~DeviceHold() { device_.busy.store(false, std::memory_order_release); }
  DeviceHold(const DeviceHold&) = delete;
  DeviceHold& operator=(const DeviceHold&) = delete;

 private:
  DeviceInstance& device_;
};

// The widest naturally aligned piece of 1, 2, 4 or 8 bytes at `offset`, at most `left`.
size_t piece_width(uint64_t offset, size_t left) {
  size_t width = 8;
  while (width > 1 && (offset % width != 0 || left < width))
    width /= 2;
  return width;
}

}  // namespace

// Accesses the model allows are 1, 2, 4 or 8 bytes: others are made of naturally aligned pieces,
// lowest first. Bytes past the device's register space read as all ones (as an absent device
// does on a PCI bus) and ignore writes. Caller holds the device.
void ModelBackend::access(uint64_t offset, size_t width, uint8_t* bytes, bool write) {
  const mmiotrace_device_model& model = *device_.model;
  uint64_t at = base_ + offset;
  for (size_t done = 0; done < width;) {
    size_t piece = width == 1 || width == 2 || width == 4 || width == 8
                       ? width
                       : piece_width(at + done, width - done);
    uint64_t where = at + done;
    if (where >= device_.size || device_.size - where < piece) {
      if (!write) std::memset(bytes + done, 0xff, piece);
    } else if (write) {
      uint64_t value = 0;
      std::memcpy(&value, bytes + done, piece);
      model.write(device_.device, where, static_cast<uint32_t>(piece), value);
    } else {
      uint64_t value = model.read(device_.device, where, static_cast<uint32_t>(piece));
      std::memcpy(bytes + done, &value, piece);
    }
    done += piece;
  }
}

int ModelBackend::read(uint64_t offset, size_t width, uint8_t* out) {
  DeviceHold hold(device_);
  access(offset, width, out, /*write=*/false);
  return arch::kGuardedOk;
}

int ModelBackend::write(uint64_t offset, size_t width, const uint8_t* in) {
  DeviceHold hold(device_);
  access(offset, width, const_cast<uint8_t*>(in), /*write=*/true);
  return arch::kGuardedOk;
}

int ModelBackend::compare_exchange(uint64_t offset, size_t width, uint8_t* expected,
                                   const uint8_t* desired) {
  DeviceHold hold(device_);
  uint8_t current[16];
  access(offset, width, current, /*write=*/false);
  if (std::memcmp(current, expected, width) != 0) {
    std::memcpy(expected, current, width);
    return arch::kGuardedMismatch;
  }
  access(offset, width, const_cast<uint8_t*>(desired), /*write=*/true);
  return arch::kGuardedOk;
}

}  // namespace mmiotrace::backend
