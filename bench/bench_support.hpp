// What the whole-program benchmarks share: finding the mmiotrace command next to them.
#pragma once

#include <unistd.h>

#include <string>

namespace mmiotrace::bench {

// The mmiotrace command next to this benchmark, by absolute path (the programs it runs may run
// elsewhere).
inline std::string mmiotrace_command() {
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path(self, length > 0 ? static_cast<size_t>(length) : 0);
  return path.substr(0, path.rfind('/') + 1) + "mmiotrace";
}

}  // namespace mmiotrace::bench
