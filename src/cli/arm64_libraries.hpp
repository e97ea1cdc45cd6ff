// Where an AArch64 program's loader and libraries are, for qemu-aarch64's -L: one build of glibc,
// never two. Header-only: the end-to-end tests run programs untraced as record runs them.
#pragma once

#include <unistd.h>

#include <string>

namespace mmiotrace::cli {

// Debian's multiarch :arm64 libraries in / (libc6:arm64 and its loader, with the C++ runtime the
// AArch64 shim needs, libstdc++6:arm64): "", qemu's default. Otherwise the cross toolchain's
// sysroot (libc6-arm64-cross) when it has the loader; otherwise "". The cross loader must not
// meet the multiarch C library, which it finds first, in /lib/aarch64-linux-gnu: two builds of
// glibc disagree on their private interfaces (threads hang in pthread_create).
inline bool arm64_library_exists(const char* path) {
  return access(path, R_OK) == 0;
}
inline bool arm64_multiarch_c_library() {
  return arm64_library_exists("/lib/ld-linux-aarch64.so.1") &&
         arm64_library_exists("/lib/aarch64-linux-gnu/libc.so.6");
}
inline std::string arm64_library_root() {
  if (arm64_multiarch_c_library() &&
      (arm64_library_exists("/usr/lib/aarch64-linux-gnu/libstdc++.so.6") ||
       arm64_library_exists("/lib/aarch64-linux-gnu/libstdc++.so.6"))) {
    return "";
  }
  if (arm64_library_exists("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")) {
    return "/usr/aarch64-linux-gnu";
  }
  return "";
}

// Whether arm64_library_root() gives the cross loader while the multiarch C library is installed
// (libc6:arm64 without libstdc++6:arm64): a threaded program then hangs.
inline bool arm64_libraries_mixed() {
  return !arm64_library_root().empty() && arm64_multiarch_c_library();
}

}  // namespace mmiotrace::cli
