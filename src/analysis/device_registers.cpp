// Naming offsets of a device by its model's registers (see device_registers.hpp).
#include "analysis/device_registers.hpp"

#include <cinttypes>
#include <cstdio>
#include <optional>

#include "devices/model_catalog.hpp"

namespace mmiotrace::analysis {

namespace {

// A register map without registers: it names every offset by its number.
const mmiotrace_register kNoRegisters[] = {{nullptr, 0, 0, nullptr}};

}  // namespace

TraceDeviceRegisters registers_of_trace_device(const std::string& spec) {
  std::string error;
  std::optional<devices::DeviceSpec> device = devices::parse_device_spec(spec, &error);
  if (!device) return {};
  if (devices::names_plugin(device->model)) return {kNoRegisters, device->model};
  const mmiotrace_device_model* model = devices::find_builtin_model(device->model);
  if (model == nullptr) return {};
  return {devices::register_map(*model, device->arguments), ""};
}

std::string unloaded_plugins_warning(const std::map<int, std::string>& plugins) {
  std::string maps;
  std::string options;
  for (const auto& [map_id, plugin] : plugins) {
    maps += (maps.empty() ? "" : ", ") + std::to_string(map_id);
    options += (options.empty() ? "" : " ") + ("--model " + std::to_string(map_id) + "=" + plugin);
  }
  bool one = plugins.size() == 1;
  return devices::printable(
      std::string(one ? "map " : "maps ") + maps +
      (one ? " was recorded against a plugin device model, which mmiotrace does not load"
           : " were recorded against plugin device models, which mmiotrace does not load") +
      " when a trace names it: registers left unnamed; to load " + (one ? "it" : "them") +
      " and name them, add " + options);
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
