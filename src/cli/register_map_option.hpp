// The `--regs [MAPID=]MAP` option that dump, report and convert share, and the MAPID=VALUE form
// it shares with dump's --model.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "analysis/register_map_set.hpp"

namespace mmiotrace::cli {

// Splits "MAPID=VALUE" (a positive map id, a non-empty value); nullopt when `text` is not of
// that form.
std::optional<std::pair<int, std::string>> split_map_id(const std::string& text);

// Reads the register map `value` names ("MAP", or "MAPID=MAP" unless a file is named so) into
// `maps`. Throws CliError: 116 when the map cannot be read, 125 when a map id gets two maps.
void add_register_map(const std::string& command, const std::string& value,
                      analysis::RegisterMapSet& maps);

}  // namespace mmiotrace::cli
