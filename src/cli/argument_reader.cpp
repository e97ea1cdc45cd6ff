// Reading a subcommand's arguments (see argument_reader.hpp).
#include "cli/argument_reader.hpp"

#include <cstring>

namespace mmiotrace::cli {
namespace {

// An option starts with '-' and is not "-" (standard input) or "--" (the separator).
bool is_option(const std::string& argument) {
  return argument.size() > 1 && argument[0] == '-' && argument != "--";
}

}  // namespace

bool ArgumentReader::next_option() {
  while (!done()) {
    const std::string& argument = arguments_[index_];
    if (!after_separator_ && argument == "--") {
      after_separator_ = true;
      ++index_;
      continue;
    }
    if (!after_separator_ && is_option(argument)) {
      if (argument == "--help" || argument == "-h") throw HelpRequested();
      return true;
    }
    if (command_begins()) return false;
    operands_.push_back(argument);
    ++index_;
  }
  return false;
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

std::vector<std::string> ArgumentReader::rest() const {
  return std::vector<std::string>(arguments_.begin() + static_cast<long>(index_), arguments_.end());
}

void ArgumentReader::reject_option() const {
  throw CliError(kExitUsage, subcommand_ + ": unknown option '" + arguments_[index_] +
                                 "'; see 'mmiotrace " + subcommand_ + " --help'");
}

}  // namespace mmiotrace::cli
