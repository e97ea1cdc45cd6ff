// Finding the shim library (libmmiotrace.so.0) that `mmiotrace record` and `replay` preload into
// the command, and checking, before the command starts, that it is of this command's version: a
// library of another version would misread the trace buffer, and one that is missing would
// leave the command untraced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mmiotrace::cli {

// The version an mmiotrace library states in its ELF note (owner "mmiotrace", type 1, which
// src/preload/version_note.S writes); nothing when `path` cannot be read, is not a 64-bit
// little-endian shared object of ELF machine `machine` (x86-64 unless said), or has no such
// note.
std::optional<std::string> shim_library_version(const std::string& path, uint16_t machine = 62);

// The library to preload, as a canonical path: $MMIOTRACE_LIBRARY when it is set; else, for the
// command in its build folder, the build's library; else the installed one, at the path from
// the command's bindir to its libdir (cli/installation.hpp). Throws CliError
// (kExitCannotTrace) naming the path it looked at and the version it wanted when that library
// is missing or unreadable, states no version, or states another one.
std::string find_shim_library();

// The AArch64 shim library that `record` preloads into an AArch64 command run under
// qemu-aarch64, as a canonical path: $MMIOTRACE_ARM64_LIBRARY when it is set; else, for the
// command in its build folder, the AArch64 build's (scripts/build --arch arm64); else the
// installed one, in the multiarch libdir aarch64-linux-gnu beside the command's. Throws
// CliError (kExitCannotTrace) as find_shim_library() does, saying how to build it.
std::string find_arm64_shim_library();

}  // namespace mmiotrace::cli
