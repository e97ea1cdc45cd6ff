// Naming offsets of a device by its model's registers (see device_registers.hpp).
#include "analysis/device_registers.hpp"

#include <cinttypes>
#include <cstdio>
#include <optional>

#include "devices/model_catalog.hpp"

namespace mmiotrace::analysis {

const mmiotrace_register* registers_of_device(const std::string& spec) {
  std::string error;
  std::optional<devices::DeviceSpec> device = devices::parse_device_spec(spec, &error);
  if (!device) return nullptr;
  const mmiotrace_device_model* model = devices::find_model(device->model, &error);
  return model != nullptr ? devices::register_map(*model, device->arguments) : nullptr;
}

std::string device_register_name(const mmiotrace_register* map, uint64_t offset, unsigned width) {
  if (map == nullptr) return "";
  const mmiotrace_register* reg = devices::register_at(map, offset, width);
  char text[64];
  if (reg == nullptr) {
    snprintf(text, sizeof(text), "offset 0x%" PRIx64, offset);
    return text;
  }
  if (reg->offset == offset) return reg->name;
  snprintf(text, sizeof(text), "%s+%" PRIu64, reg->name, offset - reg->offset);
  return text;
}

}  // namespace mmiotrace::analysis
