// AArch64 programs on this x86-64 machine: running them under qemu-aarch64 untraced as
// `mmiotrace record` runs them traced, and finding the AArch64 shim record would preload.
// Shared by the end-to-end tests (arm64_programs_test.cpp) and the client tests.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/arm64_libraries.hpp"
#include "preload/environment.hpp"

namespace mmiotrace::e2e {

// qemu-aarch64 as record finds it, on $PATH; "" when qemu-user is not installed.
inline std::string find_qemu_aarch64() {
  const char* path = getenv("PATH");
  std::string directories = path != nullptr ? path : "/usr/bin:/bin";
  for (size_t start = 0, end; start <= directories.size(); start = end + 1) {
    end = directories.find(':', start);
    if (end == std::string::npos) end = directories.size();
    std::string candidate = directories.substr(start, end - start) + "/qemu-aarch64";
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// `command` (an AArch64 program, by its path, and its arguments) run untraced as record runs it
// traced: under `qemu`, with the same CPU (without SVE unless QEMU_CPU says, in this process's
// environment or in `environment`, the variables the run adds) and sysroot, so that both runs
// load the same libraries and take the same paths through them.
inline std::vector<std::string> under_qemu(const std::string& qemu,
                                           const std::vector<std::string>& command,
                                           const std::vector<std::string>& environment = {}) {
  std::vector<std::string> argv = {qemu};
  const bool cpu_named =
      getenv("QEMU_CPU") != nullptr ||
      std::any_of(environment.begin(), environment.end(),
                  [](const std::string& entry) { return entry.rfind("QEMU_CPU=", 0) == 0; });
  if (!cpu_named) argv.insert(argv.end(), {"-cpu", "max,sve=off"});
  const std::string root = cli::arm64_library_root();  // what record gives qemu as -L
  if (!root.empty()) argv.insert(argv.end(), {"-L", root});
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

// The AArch64 shim that record, run from the build tree, would preload: the library
// MMIOTRACE_ARM64_LIBRARY names, else `built`, the AArch64 build's (`scripts/build --arch
// arm64`); "" when neither is there.
inline std::string arm64_shim_library(const std::string& built) {
  if (const char* named = getenv(preload::kArm64LibraryOverrideVariable)) return named;
  return access(built.c_str(), R_OK) == 0 ? built : "";
}

}  // namespace mmiotrace::e2e
