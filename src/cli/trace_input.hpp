// How the reading commands (dump, report, convert, diff) read a trace: a line or record they
// cannot read is skipped with a warning on stderr under the command's name, or, with --strict,
// stops them (docs/cli.md).
#pragma once

#include <string>

#include "trace/trace_reader.hpp"

namespace mmiotrace::cli {

trace::ReadOptions trace_read_options(const std::string& command, bool strict);

}  // namespace mmiotrace::cli
