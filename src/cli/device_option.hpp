// The --device option of `mmiotrace record`: MODEL[:ARGS]@PATH, checked before the command runs
// (the model exists and accepts ARGS), so that a mistake is one line and exit status 118 rather
// than a program that finds no device.
#pragma once

#include <string>

namespace mmiotrace::cli {

// `text` when it is a usable device; throws CliError(kExitBadDevice) naming `subcommand`.
std::string checked_device(const std::string& subcommand, const std::string& text);

}  // namespace mmiotrace::cli
