// Checks of the command `mmiotrace record` is asked to run, made before anything starts: the
// shim reaches a program only through the dynamic loader.
#pragma once

#include <optional>
#include <string>

namespace mmiotrace::cli {

// The file execvp() would run for `command`: itself when it holds a '/', else the first
// executable file of that name along $PATH; nothing when there is none.
std::optional<std::string> find_command(const std::string& command);

// Whether `path` is an ELF executable without a program interpreter (statically linked, or
// static-pie): LD_PRELOAD cannot reach it. False for scripts, dynamic programs, shared objects
// run directly (the dynamic loader) and unreadable files (whose problems exec reports).
bool is_statically_linked(const std::string& path);

// The instruction set of the program in an ELF file, from its header.
enum class ProgramMachine {
  NotElf,            // a script, or a file too short or unreadable: exec decides
  Native,            // x86-64 (64-bit, little-endian)
  Aarch64,           // AArch64, 64-bit, little-endian: run under qemu-aarch64
  Aarch64BigEndian,  // aarch64_be
  Other,             // anything else: `name` says what
};
struct ProgramKind {
  ProgramMachine machine = ProgramMachine::NotElf;
  std::string name;      // the architecture, for messages ("32-bit ARM", "ELF machine 243")
  bool dynamic = false;  // it has a program interpreter (PT_INTERP)
};
ProgramKind program_kind(const std::string& path);

}  // namespace mmiotrace::cli
