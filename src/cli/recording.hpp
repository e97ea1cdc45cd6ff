// Running a command under the tracer and writing its trace: what `mmiotrace record` does, and
// what `mmiotrace replay` does with a replayed trace's devices attached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/pci_bus.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

struct RecordOptions {
  std::string output = "mmiotrace.log";
  std::string strategy = "emulate";
  bool divert = true;  // hot MMIO code runs in the code cache (--no-divert: off)
  bool patch = true;   // ... entered by jumps patched into hot sites
  trace::TraceFormat format = trace::TraceFormat::Text;
  trace::TraceCompression compression = trace::TraceCompression::None;
  bool drop = false;
  uint64_t ring_bytes = 4 << 20;
  std::vector<std::string> globs;  // what to trace (record's parse() puts in the defaults)
  // Virtual devices the shim makes exist (MODEL[:ARGS]@PATH, or replay:MAPID@PATH).
  std::vector<std::string> devices;
  VirtualPciBus pci;   // virtual PCI functions (--pci), shown in the command's mount namespace
  int replay_fd = -1;  // the replay script, passed to the command; -1 when not replaying
  std::vector<std::string> command;
  std::string qemu;  // --qemu: the qemu-aarch64 that runs an AArch64 command ("": from $PATH)
};

// How the command is started: itself, or (an AArch64 program on x86-64) under qemu-aarch64,
// with the AArch64 shim preloaded into the program qemu runs.
struct CommandLaunch {
  std::string library;  // the shim library to preload
  std::string qemu;     // qemu-aarch64 to run the command under; "" to run it itself
  std::string program;  // with qemu: the command's file, found along $PATH
  std::string sysroot;  // with qemu: its -L, where the program's loader and libraries are; or ""
};

struct RecordingOutcome {
  int wait_status = 0;        // the command's, as from waitpid()
  bool write_failed = false;  // the trace could not be written in full:
  std::string write_error;    // ... why (the first error, naming the file)
  uint64_t events_lost = 0;   // ... and how many events it misses
};

// The line that says a recording's trace could not be written in full (without "mmiotrace: ").
std::string incomplete_trace_message(const std::string& command, const RecordingOutcome& outcome);

// Sets the output's format and compression: those its name says (docs/cli.md; text when it
// says none), the format `format` (--format) says instead, zstd when `compress` (--compress)
// asks for compression the name does not name. Throws CliError (usage) for a name that asks for
// a compression mmiotrace cannot write.
void choose_output_format(RecordOptions& options, std::optional<trace::TraceFormat> format,
                          bool compress, const std::string& subcommand);

// Runs the command and writes its trace. Throws CliError when it cannot start.
RecordingOutcome run_recording(const RecordOptions& options);

// Refuses, before anything is written, a command that cannot run (not found, not executable),
// that the shim cannot reach (statically linked), or of an architecture it cannot trace here;
// else says how to start it. Throws CliError.
CommandLaunch check_traceable(const RecordOptions& options);

// Ends mmiotrace the way the traced program ended: returns its exit status, or kills mmiotrace
// with the signal that killed it.
int mirror_status(int wait_status);

}  // namespace mmiotrace::cli
