// How the mmiotrace command reports a user's mistake: a CliError carries a one-line message and
// the exit status; main() prints it as "mmiotrace: <message>" and exits.
#pragma once

#include <stdexcept>
#include <string>

namespace mmiotrace::cli {

// Exit statuses of the mmiotrace command itself (docs/cli.md). `record` otherwise exits with
// the traced program's own status. They sit high, as env(1)'s do, to stay clear of the statuses
// programs commonly use.
enum ExitStatus : int {
  kExitUsage = 125,             // unknown option, missing argument, missing command
  kExitCannotWriteTrace = 124,  // the output file cannot be created or written
  kExitBadGlob = 123,           // a --trace pattern is malformed
  kExitCannotTrace = 122,       // the command cannot be traced (the shim cannot reach it)
  kExitBadTrace = 121,          // a trace to read is missing, unreadable, truncated or corrupt
  kExitNoRecording = 120,       // `mark`: no recording to send the marker to
  kExitStaticProgram = 119,     // `record`: the command is statically linked
  kExitBadDevice = 118,         // a --device is malformed, or its model refuses its arguments
  kExitReplayDiverged = 117,    // `replay`: the program's accesses differ from the trace's
  kExitBadRegisterMap = 116,    // `dump --regs`: the register map cannot be read or is malformed
  kExitBadPci = 115,            // a --pci is malformed, clashes, or its model or dump is refused
  kExitNoPciBus = 114,          // --pci: no private mount namespace can be made here
  kExitForeignProgram = 113,    // `record`: the command is for an architecture not traced here
  kExitNoQemu = 112,            // `record`: an AArch64 command, and no qemu-aarch64 to run it
  kExitCannotExecute = 126,     // the command exists but cannot be run
  kExitCommandNotFound = 127,
};

class CliError : public std::runtime_error {
 public:
  CliError(int exit_status, const std::string& message)
      : std::runtime_error(message), exit_status_(exit_status) {}
  int exit_status() const { return exit_status_; }

 private:
  int exit_status_;
};

}  // namespace mmiotrace::cli
