// The --device and --model options (see device_option.hpp).
#include "cli/device_option.hpp"

#include <optional>

#include "cli/cli_error.hpp"
#include "cli/register_map_option.hpp"
#include "devices/model_catalog.hpp"

namespace mmiotrace::cli {

std::string checked_device(const std::string& subcommand, const std::string& text) {
  std::string error;
  std::optional<devices::DeviceSpec> spec = devices::parse_device_spec(text, &error);
  if (!spec) throw CliError(kExitBadDevice, subcommand + ": --device '" + text + "': " + error);
  if (spec->model == "replay") {
    throw CliError(kExitBadDevice, subcommand + ": --device '" + text +
                                       "': 'replay' is not a model; use 'mmiotrace replay'");
  }
  const mmiotrace_device_model* model = devices::find_model(spec->model, &error);
  if (model == nullptr) {
    throw CliError(kExitBadDevice, subcommand + ": --device '" + text + "': " + error);
  }
  // The model judges its arguments: a device is made and destroyed here, as the shim will make
  // it in the command.
  char why[256] = "";
  void* device = model->create(spec->arguments.c_str(), why, sizeof(why));
  if (device == nullptr) {
    throw CliError(kExitBadDevice, subcommand + ": --device '" + text + "': " +
                                       (why[0] ? why : "the model refuses these arguments"));
  }
  model->destroy(device);
  return text;
}

void add_model_choice(const std::string& subcommand, const std::string& value,
                      std::map<int, const mmiotrace_register*>& chosen) {
  auto split = split_map_id(value);
  if (!split) {
    throw CliError(kExitUsage, subcommand + ": --model '" + devices::printable(value) +
                                   "' is not MAPID=MODEL (a map id from the trace's MAP lines, "
                                   "and a model name or plugin path)");
  }
  std::string error;
  const mmiotrace_device_model* model = devices::find_model(split->second, &error);
  if (model == nullptr) throw CliError(kExitBadDevice, subcommand + ": " + error);
  chosen[split->first] = model->registers;
}

}  // namespace mmiotrace::cli
