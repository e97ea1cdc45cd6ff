// The --regs option (see register_map_option.hpp).
#include "cli/register_map_option.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>

#include "cli/cli_error.hpp"

namespace mmiotrace::cli {

std::optional<std::pair<int, std::string>> split_map_id(const std::string& text) {
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) return std::nullopt;
  char* end = nullptr;
  long map_id = strtol(text.c_str(), &end, 10);
  if (end != text.c_str() + equals || map_id <= 0 || map_id > INT32_MAX ||
      equals + 1 == text.size()) {
    return std::nullopt;
  }
  return std::make_pair(static_cast<int>(map_id), text.substr(equals + 1));
}

namespace {

bool file_exists(const std::string& path) {
  struct stat status;
  return stat(path.c_str(), &status) == 0;
}

analysis::RegisterMap load(const std::string& command, const std::string& path) {
  try {
    return analysis::load_register_map(path);
  } catch (const analysis::RegisterMapError& error) {
    throw CliError(kExitBadRegisterMap, command + ": " + error.what());
  }
}

}  // namespace

void add_register_map(const std::string& command, const std::string& value,
                      analysis::RegisterMapSet& maps) {
  auto split = file_exists(value) ? std::nullopt : split_map_id(value);
  if (!split) {
    maps.add_physical(load(command, value));
    return;
  }
  if (!maps.add_for_mapping(split->first, load(command, split->second))) {
    throw CliError(kExitUsage, command + ": --regs gives map " + std::to_string(split->first) +
                                   " two register maps; give one per map id");
  }
}

}  // namespace mmiotrace::cli
