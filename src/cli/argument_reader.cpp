// Reading a subcommand's options (see argument_reader.hpp).
#include "cli/argument_reader.hpp"

#include <cstring>

namespace mmiotrace::cli {

bool ArgumentReader::at_option() const {
  if (done()) return false;
  const std::string& argument = arguments_[index_];
  return argument.size() > 1 && argument[0] == '-' && argument != "--";
}

bool ArgumentReader::take_separator() {
  if (done() || arguments_[index_] != "--") return false;
  ++index_;
  return true;
}

bool ArgumentReader::take_flag(const char* long_name, const char* short_name) {
  if (done()) return false;
  const std::string& argument = arguments_[index_];
  if (argument == long_name || (short_name && argument == short_name)) {
    ++index_;
    return true;
  }
  return false;
}

std::optional<std::string> ArgumentReader::take_value(const char* long_name,
                                                      const char* short_name) {
  if (done()) return std::nullopt;
  const std::string& argument = arguments_[index_];
  std::string long_prefix = std::string(long_name) + "=";
  if (argument.rfind(long_prefix, 0) == 0) {
    ++index_;
    return argument.substr(long_prefix.size());
  }
  if (short_name && argument.size() > 2 && argument.rfind(short_name, 0) == 0) {
    ++index_;
    return argument.substr(strlen(short_name));
  }
  if (argument != long_name && !(short_name && argument == short_name)) return std::nullopt;
  if (index_ + 1 >= arguments_.size()) {
    throw CliError(kExitUsage, subcommand_ + ": option '" + argument +
                                   "' needs a value; see 'mmiotrace " + subcommand_ + " --help'");
  }
  index_ += 2;
  return arguments_[index_ - 1];
}

std::vector<std::string> ArgumentReader::rest() {
  std::vector<std::string> remaining(arguments_.begin() + static_cast<long>(index_),
                                     arguments_.end());
  index_ = arguments_.size();
  return remaining;
}

void ArgumentReader::reject_option() const {
  throw CliError(kExitUsage, subcommand_ + ": unknown option '" + arguments_[index_] +
                                 "'; see 'mmiotrace " + subcommand_ + " --help'");
}

}  // namespace mmiotrace::cli
