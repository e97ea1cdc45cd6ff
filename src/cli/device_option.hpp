// The --device option of `mmiotrace record`: MODEL[:ARGS]@PATH, checked before the command runs
// (the model exists and accepts ARGS), so that a mistake is one line and exit status 118 rather
// than a program that finds no device; and the --model MAPID=MODEL option of dump and report,
// the one way to have them load a plugin (a trace's device markers never do).
#pragma once

#include <map>
#include <string>

#include "mmiotrace/device.h"

namespace mmiotrace::cli {

// `text` when it is a usable device; throws CliError(kExitBadDevice) naming `subcommand`.
std::string checked_device(const std::string& subcommand, const std::string& text);

// Adds --model `value` (MAPID=MODEL: a built-in model's name or a plugin's path, loaded here) to
// `chosen`, the register maps by map id. Throws CliError: 125 when `value` is not of that form,
// 118 when the model is unknown or the plugin cannot be loaded.
void add_model_choice(const std::string& subcommand, const std::string& value,
                      std::map<int, const mmiotrace_register*>& chosen);

}  // namespace mmiotrace::cli
