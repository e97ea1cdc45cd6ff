// How the reading commands read a trace (see trace_input.hpp).
#include "cli/trace_input.hpp"

#include <cstdio>

namespace mmiotrace::cli {

trace::ReadOptions trace_read_options(const std::string& command, bool strict) {
  trace::ReadOptions options;
  options.strict = strict;
  options.warn = [command](const std::string& message) {
    std::fprintf(stderr, "mmiotrace: %s: warning: %s\n", command.c_str(), message.c_str());
  };
  return options;
}

}  // namespace mmiotrace::cli
