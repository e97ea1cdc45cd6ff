// mmiotrace: signal-safe
// The regfile model: plain memory behind a device path, optionally preloaded from an image.
// The state is made by builtin_models.cpp (create); the functions run in signal handlers.
#pragma once

#include <cstdint>

namespace mmiotrace::devices {

// One regfile device. `memory` and `image` are owned by whoever made the state (create and
// destroy in builtin_models.cpp, or a test); the functions below only read and write them.
struct RegfileState {
  uint8_t* memory = nullptr;       // `size` bytes: the register space
  uint64_t size = 0;               // > 0
  const uint8_t* image = nullptr;  // the initial content, `image_size` bytes, or nullptr
  uint64_t image_size = 0;         // <= size; the rest of the memory starts zeroed
};

// An access of `width` bytes (1, 2, 4 or 8) at `offset` (< size), value little-endian in the
// low bytes. Bytes past `size` read as 0 and ignore writes.
uint64_t regfile_read(const RegfileState& regfile, uint64_t offset, uint32_t width);
void regfile_write(RegfileState& regfile, uint64_t offset, uint32_t width, uint64_t value);
// Back to the image (or zeroes).
void regfile_reset(RegfileState& regfile);

// The model ABI's entry points; `device` is a RegfileState*.
uint64_t regfile_abi_size(void* device);
uint64_t regfile_abi_read(void* device, uint64_t offset, uint32_t width);
void regfile_abi_write(void* device, uint64_t offset, uint32_t width, uint64_t value);
void regfile_abi_reset(void* device);

}  // namespace mmiotrace::devices
