// Reading a subcommand's arguments: options in every usual spelling ("-o FILE", "-oFILE",
// "--output FILE", "--output=FILE") before, between or after the operands; "--" ending the
// options; and, for the subcommands that run a command (record, replay) or send a text (mark),
// the point where that command begins and every later argument is its own. One-line errors for
// the rest (docs/cli.md, "Command-line conventions").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_error.hpp"

namespace mmiotrace::cli {

// Thrown where "--help" or "-h" stands among a subcommand's options: main() prints that
// subcommand's help and exits 0.
struct HelpRequested {};

class ArgumentReader {
 public:
  // Options may stand anywhere among the operands. With `operands_before_command` = N, the
  // operand after the first N starts a command (record: 0, replay: 1 for its TRACE, mark: 0 for
  // its TEXT): it and every argument after it, options or not, are the command's (rest()).
  ArgumentReader(std::string subcommand, const std::vector<std::string>& arguments,
                 std::optional<size_t> operands_before_command = std::nullopt)
      : subcommand_(std::move(subcommand)),
        arguments_(arguments),
        operands_before_command_(operands_before_command) {}

  // Moves to the next option, keeping the operands it passes (operands()); false when no option
  // is left: at the end, or where the command begins. After "--" every argument is an operand.
  // Throws HelpRequested at "--help" or "-h".
  bool next_option();
  // Consumes the next argument when it is the flag `long_name` (or `short_name`).
  bool take_flag(const char* long_name, const char* short_name = nullptr);
  // Consumes the next argument when it is the option `long_name` (or `short_name`) with a
  // value, in any of the usual spellings; throws when the value is missing.
  std::optional<std::string> take_value(const char* long_name, const char* short_name = nullptr);
  // Throws the error for an option nobody took, naming it.
  [[noreturn]] void reject_option() const;

  // The operands met so far, in order ("--" left out).
  const std::vector<std::string>& operands() const { return operands_; }
  // Once next_option() is false: the command and its arguments, verbatim (empty when there is
  // no command, or the subcommand runs none).
  std::vector<std::string> rest() const;

 private:
  bool done() const { return index_ >= arguments_.size(); }
  bool command_begins() const {
    return operands_before_command_ && operands_.size() >= *operands_before_command_;
  }

  std::string subcommand_;
  const std::vector<std::string>& arguments_;
  std::optional<size_t> operands_before_command_;
  size_t index_ = 0;
  bool after_separator_ = false;
  std::vector<std::string> operands_;
};

}  // namespace mmiotrace::cli
