// `mmiotrace record`: the subcommand's options, checked before anything starts, and the
// recording they describe (recording.hpp) run with them.
// (Declared in subcommands.hpp, with the other subcommands.)
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/device_option.hpp"
#include "cli/pci_option.hpp"
#include "cli/recording.hpp"
#include "cli/subcommands.hpp"
#include "preload/environment.hpp"

namespace mmiotrace::cli {

namespace {

// A glob that fnmatch() would silently treat as something else is refused.
void check_glob(const std::string& glob) {
  if (glob.empty()) throw CliError(kExitBadGlob, "record: empty --trace pattern");
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '\\') {
      if (++i == glob.size()) {
        throw CliError(kExitBadGlob,
                       "record: --trace pattern '" + glob + "' ends with a lone backslash");
      }
    } else if (glob[i] == '[') {
      size_t j = i + 1;
      if (j < glob.size() && (glob[j] == '!' || glob[j] == '^')) ++j;
      if (j < glob.size() && glob[j] == ']') ++j;
      while (j < glob.size() && glob[j] != ']')
        ++j;
      if (j == glob.size()) {
        throw CliError(kExitBadGlob, "record: --trace pattern '" + glob +
                                         "' has a '[' without its ']' (write '\\[' for a "
                                         "literal bracket)");
      }
      i = j;
    }
  }
}

std::string absolute_glob(const std::string& glob) {
  if (glob[0] == '/') return glob;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) {
    throw CliError(kExitBadGlob, "record: cannot resolve relative --trace pattern '" + glob +
                                     "': " + strerror(errno));
  }
  return std::string(cwd) + "/" + glob;
}

uint64_t parse_size(const std::string& text) {
  char* end = nullptr;
  unsigned long long value = strtoull(text.c_str(), &end, 10);
  std::string suffix = end ? end : "";
  if (suffix == "K" || suffix == "k")
    value <<= 10;
  else if (suffix == "M" || suffix == "m")
    value <<= 20;
  else if (!suffix.empty())
    value = 0;
  if (text.empty() || value < (64 << 10) || value > (1ull << 30) || (value & (value - 1)) != 0) {
    throw CliError(kExitUsage, "record: --buffer-size '" + text +
                                   "' is not a power of two between 64K and 1024M");
  }
  return value;
}

// Where sysfs is read for the host's devices (tests point MMIOTRACE_SYSFS at a stand-in).
std::string sysfs_root() {
  const char* root = getenv("MMIOTRACE_SYSFS");
  return root && *root ? root : "/sys";
}

RecordOptions parse(const Arguments& arguments) {
  RecordOptions options;
  std::optional<trace::TraceFormat> format_given;
  bool compress = false;
  std::vector<PciOption> pci;
  bool pci_only = false;
  // Options come before COMMAND: from COMMAND on, every argument is COMMAND's own.
  ArgumentReader reader("record", arguments, 0);
  while (reader.next_option()) {
    if (auto output = reader.take_value("--output", "-o")) {
      options.output = *output;
    } else if (auto format = reader.take_value("--format")) {
      if (*format == "text") {
        format_given = trace::TraceFormat::Text;
      } else if (*format == "binary") {
        format_given = trace::TraceFormat::Binary;
      } else {
        throw CliError(kExitUsage,
                       "record: unknown format '" + *format + "'; use 'text' or 'binary'");
      }
    } else if (reader.take_flag("--compress")) {
      compress = true;
    } else if (reader.take_flag("--drop")) {
      options.drop = true;
    } else if (auto size = reader.take_value("--buffer-size")) {
      options.ring_bytes = parse_size(*size);
    } else if (reader.take_flag("--divert")) {
      options.divert = true;  // the default (the option of the releases that had it off)
    } else if (reader.take_flag("--no-divert")) {
      options.divert = false;
    } else if (reader.take_flag("--no-patch")) {
      options.patch = false;
    } else if (auto strategy = reader.take_value("--strategy")) {
      if (*strategy != "emulate" && *strategy != "single-step") {
        throw CliError(kExitUsage, "record: unknown strategy '" + *strategy +
                                       "'; use 'emulate' or 'single-step'");
      }
      options.strategy = *strategy;
    } else if (auto glob = reader.take_value("--trace", "-t")) {
      check_glob(*glob);
      options.globs.push_back(absolute_glob(*glob));
    } else if (auto device = reader.take_value("--device", "-d")) {
      options.devices.push_back(checked_device("record", *device));
    } else if (auto function = reader.take_value("--pci")) {
      pci.push_back(checked_pci("record", *function));
    } else if (reader.take_flag("--pci-only")) {
      pci_only = true;
    } else if (auto qemu = reader.take_value("--qemu")) {
      options.qemu = *qemu;
    } else {
      reader.reject_option();
    }
  }
  options.command = reader.rest();
  if (options.command.empty()) {
    throw CliError(kExitUsage,
                   "record: no command to run; usage: mmiotrace record [-o FILE] "
                   "[--trace GLOB]... -- COMMAND [ARGS]");
  }
  // As `convert` does: the output's name says the format and the compression, unless --format
  // and --compress do.
  choose_output_format(options, format_given, compress, "record");
  if (pci_only && pci.empty()) {
    throw CliError(kExitUsage,
                   "record: --pci-only without --pci: it hides the host's devices "
                   "behind virtual ones; add --pci MODEL[:ARGS]@BDF");
  }
  if (!pci.empty()) options.pci = plan_pci_bus("record", pci, pci_only, sysfs_root());
  // Without --trace, the kernel tracer's targets; but a run against virtual devices traces just
  // them, unless --trace says otherwise.
  if (options.globs.empty() && options.devices.empty())
    options.globs = preload::default_trace_globs();
  return options;
}

}  // namespace

int run_record(const Arguments& arguments) {
  RecordOptions options = parse(arguments);
  RecordingOutcome outcome;
  try {
    outcome = run_recording(options);
  } catch (const CliError& error) {
    throw CliError(error.exit_status(), std::string("record: ") + error.what());
  }
  if (outcome.write_failed) {
    fprintf(stderr, "mmiotrace: record: %s\n",
            incomplete_trace_message(options.command.front(), outcome).c_str());
    return kExitCannotWriteTrace;
  }
  return mirror_status(outcome.wait_status);
}

}  // namespace mmiotrace::cli
