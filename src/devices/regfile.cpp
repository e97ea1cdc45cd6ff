// mmiotrace: signal-safe
// The regfile model's register logic: plain little-endian memory, reset to its image.
#include "devices/regfile.hpp"

#include <cstring>

namespace mmiotrace::devices {
namespace {

// How many of `width` bytes at `offset` lie inside the register space.
uint64_t bytes_inside(const RegfileState& regfile, uint64_t offset, uint32_t width) {
  if (offset >= regfile.size) return 0;
  uint64_t room = regfile.size - offset;
  return width < room ? width : room;
}

}  // namespace

uint64_t regfile_read(const RegfileState& regfile, uint64_t offset, uint32_t width) {
  uint64_t value = 0;
  if (width > sizeof value) width = sizeof value;
  uint64_t inside = bytes_inside(regfile, offset, width);
  if (inside > 0) memcpy(&value, regfile.memory + offset, inside);
  return value;
}

void regfile_write(RegfileState& regfile, uint64_t offset, uint32_t width, uint64_t value) {
  if (width > sizeof value) width = sizeof value;
  uint64_t inside = bytes_inside(regfile, offset, width);
  if (inside > 0) memcpy(regfile.memory + offset, &value, inside);
}

void regfile_reset(RegfileState& regfile) {
  if (regfile.image_size > 0) memcpy(regfile.memory, regfile.image, regfile.image_size);
  memset(regfile.memory + regfile.image_size, 0, regfile.size - regfile.image_size);
}

uint64_t regfile_abi_size(void* device) {
  return static_cast<RegfileState*>(device)->size;
}
uint64_t regfile_abi_read(void* device, uint64_t offset, uint32_t width) {
  return regfile_read(*static_cast<RegfileState*>(device), offset, width);
}
void regfile_abi_write(void* device, uint64_t offset, uint32_t width, uint64_t value) {
  regfile_write(*static_cast<RegfileState*>(device), offset, width, value);
}
void regfile_abi_reset(void* device) {
  regfile_reset(*static_cast<RegfileState*>(device));
}

}  // namespace mmiotrace::devices
