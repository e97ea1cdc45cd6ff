// Reading a subcommand's options: "-o FILE", "-oFILE", "--output FILE", "--output=FILE", "--"
// and the first operand, with one-line errors for everything else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/cli_error.hpp"

namespace mmiotrace::cli {

class ArgumentReader {
 public:
  ArgumentReader(std::string subcommand, const std::vector<std::string>& arguments)
      : subcommand_(std::move(subcommand)), arguments_(arguments) {}

  bool done() const { return index_ >= arguments_.size(); }
  // True when the next argument is an option (starts with '-', is not "-" or "--").
  bool at_option() const;
  // Consumes "--" when it is next; returns whether it was.
  bool take_separator();
  // Consumes the next argument when it is the flag `long_name` (or `short_name`).
  bool take_flag(const char* long_name, const char* short_name = nullptr);
  // Consumes the next argument when it is the option `long_name` (or `short_name`) with a
  // value, in any of the usual spellings; throws when the value is missing.
  std::optional<std::string> take_value(const char* long_name, const char* short_name = nullptr);
  // The remaining arguments.
  std::vector<std::string> rest();
  // Throws the error for an option nobody took.
  [[noreturn]] void reject_option() const;

 private:
  std::string subcommand_;
  const std::vector<std::string>& arguments_;
  size_t index_ = 0;
};

}  // namespace mmiotrace::cli
