// The instruction set this build of mmiotrace runs on, named as `uname -m` names it: what the
// shim writes in each traced process's architecture marker (trace/markers.hpp). Any context.
#pragma once

#include <string_view>

namespace mmiotrace {

#if defined(__x86_64__)
inline constexpr std::string_view kThisArchitecture = "x86_64";
#elif defined(__aarch64__)
inline constexpr std::string_view kThisArchitecture = "aarch64";
#else
#error "mmiotrace runs on x86-64 and AArch64"
#endif

}  // namespace mmiotrace
