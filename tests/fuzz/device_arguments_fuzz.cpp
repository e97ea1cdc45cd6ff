// libFuzzer target for what a user types after --device: the MODEL[:ARGS]@PATH form, and each
// built-in model's ARGS. Whatever the input, a device is made or refused with a one-line
// reason; never a crash. Arguments that name files (out=, in=, image=) are left out: the
// fuzzer must not create or truncate files.
#include <cstdint>
#include <cstring>
#include <string>

#include "devices/model_catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find('\0') != std::string::npos || text.find("out=") != std::string::npos ||
      text.find("in=") != std::string::npos || text.find("image=") != std::string::npos) {
    return 0;
  }
  std::string error;
  std::optional<mmiotrace::devices::DeviceSpec> spec =
      mmiotrace::devices::parse_device_spec(text, &error);
  if (!spec && (error.empty() || error.find('\n') != std::string::npos)) __builtin_trap();
  for (const mmiotrace_device_model* model : mmiotrace::devices::builtin_models()) {
    char why[256];
    std::memset(why, 0, sizeof(why));
    void* device = model->create(text.c_str(), why, sizeof(why));
    if (device == nullptr) {
      if (why[0] == '\0' || std::strchr(why, '\n') != nullptr) __builtin_trap();
      continue;
    }
    // A made device answers every register without harm.
    uint64_t size = model->size(device);
    for (uint64_t offset = 0; offset + 8 <= size && offset < 0x2000; offset += 4) {
      model->write(device, offset, 4, model->read(device, offset, 4) ^ 0xffffffffu);
    }
    model->reset(device);
    model->destroy(device);
  }
  return 0;
}
