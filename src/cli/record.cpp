// `mmiotrace record`: runs a command with the preload shim and writes the trace of its MMIO.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/subcommands.hpp"
#include "core/syscall.hpp"
#include "preload/environment.hpp"
#include "trace/text_format.hpp"

namespace mmiotrace::cli {

const char* const kRecordUsage =
    "usage: mmiotrace record [-o FILE] [--trace GLOB]... [--] COMMAND [ARGS]...\n"
    "\n"
    "Runs COMMAND with the mmiotrace shim and writes a trace of the memory-mapped I/O of every\n"
    "traced mapping, in the Linux kernel's mmiotrace text format.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write the trace to FILE, '-' for standard output\n"
    "                      (default: mmiotrace.log)\n"
    "  -t, --trace GLOB    trace the mappings of files whose path matches GLOB; repeatable.\n"
    "                      Default: /dev/mem /sys/bus/pci/devices/*/resource* /dev/uio*\n"
    "                      /dev/vfio/*\n"
    "  --strategy NAME     how trapped instructions are carried out: 'emulate' (default:\n"
    "                      on an alias, exactly once, never opening the page) or\n"
    "                      'single-step' (the kernel tracer's way)\n"
    "\n"
    "Exit status: COMMAND's own (a COMMAND killed by a signal kills mmiotrace with it);\n"
    "125 usage error, 124 trace not writable, 123 malformed glob, 126 COMMAND not\n"
    "executable, 127 COMMAND not found.\n";

namespace {

struct RecordOptions {
  std::string output = "mmiotrace.log";
  std::string strategy = "emulate";
  std::vector<std::string> globs;
  std::vector<std::string> command;
};

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
      while (j < glob.size() && glob[j] != ']') ++j;
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

RecordOptions parse(const Arguments& arguments) {
  RecordOptions options;
  ArgumentReader reader("record", arguments);
  while (reader.at_option()) {
    if (auto output = reader.take_value("--output", "-o")) {
      options.output = *output;
    } else if (auto strategy = reader.take_value("--strategy")) {
      if (*strategy != "emulate" && *strategy != "single-step") {
        throw CliError(kExitUsage, "record: unknown strategy '" + *strategy +
                                       "'; use 'emulate' or 'single-step'");
      }
      options.strategy = *strategy;
    } else if (auto glob = reader.take_value("--trace", "-t")) {
      check_glob(*glob);
      options.globs.push_back(absolute_glob(*glob));
    } else {
      reader.reject_option();
    }
  }
  reader.take_separator();
  options.command = reader.rest();
  if (options.command.empty()) {
    throw CliError(kExitUsage, "record: no command to run; usage: mmiotrace record [-o FILE] "
                               "[--trace GLOB]... -- COMMAND [ARGS]");
  }
  return options;
}

std::string directory_of_executable() {
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string executable(path, static_cast<size_t>(length));
  return executable.substr(0, executable.rfind('/'));
}

std::string find_shim_library() {
  if (const char* override_path = getenv(preload::kLibraryOverrideVariable)) {
    if (access(override_path, R_OK) == 0) return override_path;
    throw CliError(kExitCannotTrace, std::string("record: ") + preload::kLibraryOverrideVariable +
                                         "=" + override_path + " is not a readable file");
  }
  std::string bin = directory_of_executable();
  for (const std::string& candidate :
       {bin + "/../lib/" + preload::kPreloadLibraryName, bin + "/" + preload::kPreloadLibraryName}) {
    char resolved[PATH_MAX];
    if (realpath(candidate.c_str(), resolved) != nullptr && access(resolved, R_OK) == 0) {
      return resolved;
    }
  }
  throw CliError(kExitCannotTrace, std::string("record: cannot find the shim ") +
                                       preload::kPreloadLibraryName + " in " + bin +
                                       "/../lib; set " + preload::kLibraryOverrideVariable);
}

int open_output(const std::string& output) {
  int fd = output == "-" ? fcntl(1, F_DUPFD_CLOEXEC, 3)
                         : open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                                0644);
  if (fd < 0) {
    throw CliError(kExitCannotWriteTrace,
                   "record: cannot write the trace to '" + output + "': " + strerror(errno));
  }
  std::string_view header = trace::kTextVersionLine;
  if (sys::write_all(fd, header.data(), header.size()) != 0) {
    throw CliError(kExitCannotWriteTrace,
                   "record: cannot write the trace to '" + output + "': " + strerror(errno));
  }
  return fd;
}

// The descriptor the trace has in the traced program: high, out of the way of the descriptors
// the program opens itself.
int child_trace_fd() {
  struct rlimit limit;
  rlim_t ceiling = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < ceiling) ceiling = limit.rlim_cur;
  return static_cast<int>(ceiling) - 1;
}

pid_t g_child = -1;

void forward_signal(int signo) {
  if (g_child > 0) kill(g_child, signo);
}

// The trace's state shared by every traced process: one page, starting with the last map id.
int create_shared_state() {
  int fd = memfd_create("mmiotrace-state", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 4096) != 0) {
    throw CliError(kExitCannotTrace, std::string("record: memfd_create: ") + strerror(errno));
  }
  return fd;
}

[[noreturn]] void exec_child(const RecordOptions& options, const std::string& library,
                             int trace_fd, int state_fd, int error_pipe) {
  int target_fd = child_trace_fd();
  int target_state_fd = target_fd - 1;
  if (dup2(trace_fd, target_fd) < 0 || dup2(state_fd, target_state_fd) < 0) {
    int error = errno;
    (void)!write(error_pipe, &error, sizeof(error));
    _exit(kExitCannotTrace);
  }
  setenv(preload::kStateFdVariable, std::to_string(target_state_fd).c_str(), 1);
  std::string preload = library;
  if (const char* existing = getenv("LD_PRELOAD"); existing && *existing) {
    preload += ":" + std::string(existing);
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  setenv(preload::kTraceFdVariable, std::to_string(target_fd).c_str(), 1);
  setenv(preload::kStrategyVariable, options.strategy.c_str(), 1);
  if (options.globs.empty()) {
    unsetenv(preload::kTraceGlobsVariable);
  } else {
    std::string globs;
    for (const std::string& glob : options.globs) globs += glob + "\n";
    setenv(preload::kTraceGlobsVariable, globs.c_str(), 1);
  }
  std::vector<char*> argv;
  for (const std::string& argument : options.command) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  int error = errno;
  (void)!write(error_pipe, &error, sizeof(error));
  _exit(error == ENOENT ? kExitCommandNotFound : kExitCannotExecute);
}

// Ends mmiotrace the way the traced program ended: same exit status, or the same signal.
int mirror_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    int signo = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // the program dumped its own core, not ours
    signal(signo, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signo);
    sigprocmask(SIG_UNBLOCK, &only, nullptr);
    raise(signo);
    return 128 + signo;
  }
  return kExitCannotTrace;
}

}  // namespace

int run_record(const Arguments& arguments) {
  RecordOptions options = parse(arguments);
  std::string library = find_shim_library();
  int trace_fd = open_output(options.output);
  int state_fd = create_shared_state();

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    throw CliError(kExitCannotTrace, std::string("record: pipe: ") + strerror(errno));
  }
  pid_t child = fork();
  if (child < 0) throw CliError(kExitCannotTrace, std::string("record: fork: ") + strerror(errno));
  if (child == 0) {
    close(error_pipe[0]);
    exec_child(options, library, trace_fd, state_fd, error_pipe[1]);
  }
  g_child = child;
  close(error_pipe[1]);
  close(trace_fd);
  close(state_fd);
  // Like system(): a terminal's ^C and ^\ reach the program, which decides; termination
  // requests sent to mmiotrace are passed on.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  for (int signo : {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) signal(signo, &forward_signal);

  int exec_error = 0;
  ssize_t got;
  do {
    got = read(error_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  close(error_pipe[0]);

  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) throw CliError(kExitCannotTrace, std::string("record: waitpid: ") + strerror(errno));
  }
  if (got == sizeof(exec_error)) {
    int exit_status = exec_error == ENOENT ? kExitCommandNotFound : kExitCannotExecute;
    throw CliError(exit_status, "record: cannot run '" + options.command[0] + "': " +
                                    strerror(exec_error));
  }
  if (isatty(2) && options.output != "-") {
    fprintf(stderr, "mmiotrace: trace written to %s\n", options.output.c_str());
  }
  return mirror_status(status);
}

}  // namespace mmiotrace::cli
