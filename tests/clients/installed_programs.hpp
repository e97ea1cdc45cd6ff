// Finding the Debian programs the client tests run, and failing a test (with what to do) when
// one is not installed. Shared by the client test files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace mmiotrace::e2e {

// Where `program` is installed (also /usr/sbin, where memtester lives), or "" when it is not.
inline std::string find_program(const std::string& program) {
  for (const char* directory : {"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"}) {
    std::string path = std::string(directory) + "/" + program;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

}  // namespace mmiotrace::e2e

#define REQUIRE_PROGRAM(variable, name)                                            \
  const std::string variable = find_program(name);                                 \
  ASSERT_FALSE(variable.empty()) << name                                           \
                                 << " is not installed: run scripts/setup, which " \
                                    "installs the programs the tests run"
