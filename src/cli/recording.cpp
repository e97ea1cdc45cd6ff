// Running a command under the tracer and writing its trace (see recording.hpp): the trace
// buffer the command's processes record into, drained into the trace file, the markers received
// from outside, and the command's end mirrored.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/arm64_libraries.hpp"
#include "cli/cli_error.hpp"
#include "cli/command_check.hpp"
#include "cli/marker_socket.hpp"
#include "cli/output_file.hpp"
#include "cli/recording.hpp"
#include "cli/shim_library.hpp"
#include "core/monotonic_clock.hpp"
#include "core/syscall.hpp"
#include "preload/environment.hpp"
#include "trace/binary_format.hpp"
#include "trace/pci_devices.hpp"
#include "trace/trace_buffer.hpp"
#include "trace/trace_drainer.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {
namespace {

// Rings of the trace buffer: one per thread that records, at most.
constexpr uint32_t kRings = 1024;

// `mmiotrace mark` connections served at once, and how long one may take to send its marker
// (the client waits 5 s for the answer).
constexpr size_t kMaxMarkerConnections = 16;
constexpr uint64_t kMarkerPatienceNs = 4'000'000'000;

std::unique_ptr<trace::TraceWriter> open_output(OutputFile& output, const RecordOptions& options) {
  try {
    return trace::TraceWriter::create(output.take_descriptor(), output.name(), options.format,
                                      options.compression);
  } catch (const trace::TraceWriteError& error) {
    throw CliError(kExitCannotWriteTrace, error.what());
  }
}

// The descriptors the traced program gets, high, out of the way of the ones it opens itself.
struct ChildDescriptors {
  int buffer;
  int wakeup;
  int marker;
  int replay;
};
ChildDescriptors child_descriptors() {
  struct rlimit limit;
  int ceiling = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 1024) {
    ceiling = static_cast<int>(limit.rlim_cur);
  }
  return {ceiling - 1, ceiling - 2, ceiling - 3, ceiling - 4};
}

volatile sig_atomic_t g_child = -1;
volatile sig_atomic_t g_stop_requested = 0;

void forward_signal(int signo) {
  g_stop_requested = 1;
  if (g_child > 0) kill(g_child, signo);
}

// A descriptor that becomes readable when `child` exits: the recording notices the end of its
// command at once. pidfd_open() came with Linux 5.3; on older kernels (ENOSYS) there is none,
// and the exit is noticed when the wait for the rings times out (kIdleWait: 20 ms at most).
int open_pidfd(pid_t child) {
#ifdef SYS_pidfd_open
  long fd = syscall(SYS_pidfd_open, child, 0);  // close-on-exec, always
  if (fd >= 0) return static_cast<int>(fd);
#endif
  (void)child;
  return -1;
}

int mirror_status_of(int status) {
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

// One recording: the trace buffer, the output, the markers, and the traced command.
class Recording {
 public:
  Recording(const RecordOptions& options, const CommandLaunch& launch)
      : options_(options), launch_(launch) {
    library_ = launch_.library.empty() ? find_shim_library() : launch_.library;
    // Under a temporary name until the command has started: a command that cannot run leaves
    // the previous trace as it was.
    output_.emplace("cannot write the trace to", options_.output, OutputFile::Previous::KeptOld);
    writer_ = open_output(*output_, options_);
    for (const std::string& line : pci_device_lines(options_.pci, options_.globs, sysfs_root())) {
      trace::Event device;
      device.kind = trace::EventKind::PciDevice;
      device.text = line.c_str();
      device.text_length = static_cast<uint32_t>(line.size());
      writer_->write_event(device);
    }
    for (const std::string& text : pci_config_markers(options_.pci))
      add_marker(text);
    make_buffer();
    make_marker_endpoints();
  }

  ~Recording() {
    for (const std::string& path : socket_paths_)
      unlink(path.c_str());
    for (const MarkerConnection& connection : marker_connections_)
      close(connection.fd);
    if (socket_directory_.made_for_one) rmdir(socket_directory_.path.c_str());
  }

  RecordingOutcome run() {
    pid_t child = start_command();
    put_output_in_place();
    g_child = child;
    child_exit_fd_ = open_pidfd(child);
    // Like system(): a terminal's ^C and ^\ reach the program, which decides; termination
    // requests sent to mmiotrace are passed on. A reader of the trace that goes away (a pipe)
    // makes writes fail (EPIPE), which the recording survives: no SIGPIPE for mmiotrace (the
    // command, started before, keeps its own disposition).
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    for (int signo : {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2})
      signal(signo, &forward_signal);
    int status = 0;
    bool child_done = false;
    uint64_t last_housekeeping = 0;
    for (;;) {
      wait_for_work();
      collect();
      if (!child_done) {
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) {
          child_done = true;
          if (child_exit_fd_ >= 0) close(child_exit_fd_);
          child_exit_fd_ = -1;
        }
      }
      uint64_t now = monotonic_ns();
      if (now - last_housekeeping > 100'000'000 || child_done) {
        last_housekeeping = now;
        size_t live = housekeeping();
        // Processes the command started may still record after it is gone.
        if (child_done && (live == 0 || g_stop_requested)) break;
      }
    }
    finish();
    RecordingOutcome outcome;
    outcome.wait_status = status;
    if (failed_writer_ != nullptr) {
      outcome.write_failed = true;
      outcome.write_error = write_error_;
      outcome.events_lost = failed_writer_->events_lost() + writer_->events_lost();
      failed_writer_->end_after_failure(outcome.events_lost);
    }
    return outcome;
  }

 private:
  // Tests point this at a stand-in sysfs.
  static std::string sysfs_root() {
    const char* root = getenv("MMIOTRACE_SYSFS");
    return root && *root ? root : "/sys";
  }

  void make_buffer() {
    buffer_fd_ = memfd_create("mmiotrace-buffer", MFD_CLOEXEC);
    size_t size = trace::TraceBuffer::bytes_for(kRings, options_.ring_bytes);
    if (buffer_fd_ < 0 || ftruncate(buffer_fd_, static_cast<off_t>(size)) != 0) {
      throw CliError(kExitCannotTrace,
                     std::string("cannot make the trace buffer: ") + strerror(errno));
    }
    void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, buffer_fd_, 0);
    if (memory == MAP_FAILED) {
      throw CliError(kExitCannotTrace,
                     std::string("cannot map the trace buffer: ") + strerror(errno));
    }
    madvise(memory, size, MADV_DONTDUMP);
    buffer_ = trace::TraceBuffer::format(memory, kRings, options_.ring_bytes);
    trace::BufferControl& control = buffer_.control();
    control.drop_when_full.store(options_.drop ? 1 : 0);
    control.writer_pid.store(getpid());
    control.wakeup_fd.store(child_descriptors().wakeup);
    wakeup_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    drainer_ = std::make_unique<trace::TraceDrainer>(buffer_);
  }

  void make_marker_endpoints() {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw CliError(kExitCannotTrace, std::string("pipe: ") + strerror(errno));
    }
    marker_read_ = ends[0];
    marker_write_ = ends[1];  // kept open here too: the pipe never reads as closed
    listen_for_markers();
  }

  // The socket `mmiotrace mark` connects to. Without one (no directory or socket can be made),
  // the recording goes on without markers from outside, and says so.
  void listen_for_markers() {
    std::string path;
    try {
      socket_directory_ = make_marker_socket_directory();
      path = marker_socket_path(socket_directory_.path, getpid());
    } catch (const CliError& error) {
      fprintf(stderr, "mmiotrace: %s; 'mmiotrace mark' cannot reach this recording\n",
              error.what());
      return;
    }
    if (!socket_directory_.warning.empty())
      fprintf(stderr, "mmiotrace: %s\n", socket_directory_.warning.c_str());
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    unlink(path.c_str());
    if (listen_fd_ < 0 || path.size() >= sizeof(address.sun_path) ||
        bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listen_fd_, 8) != 0) {
      fprintf(stderr,
              "mmiotrace: cannot listen for markers on '%s': %s; 'mmiotrace mark' cannot reach "
              "this recording\n",
              path.c_str(), strerror(errno));
      if (listen_fd_ >= 0) close(listen_fd_);
      listen_fd_ = -1;
      return;
    }
    socket_paths_.push_back(path);
  }

  pid_t start_command() {
    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) != 0) {
      throw CliError(kExitCannotTrace, std::string("pipe: ") + strerror(errno));
    }
    pid_t child = fork();
    if (child < 0) throw CliError(kExitCannotTrace, std::string("fork: ") + strerror(errno));
    if (child == 0) {
      close(error_pipe[0]);
      exec_command(error_pipe[1]);
    }
    close(error_pipe[1]);
    int exec_error = 0;
    ssize_t got;
    do {
      got = read(error_pipe[0], &exec_error, sizeof(exec_error));
    } while (got < 0 && errno == EINTR);
    close(error_pipe[0]);
    if (got == sizeof(exec_error)) {
      int status;
      waitpid(child, &status, 0);
      int exit_status = exec_error == ENOENT ? kExitCommandNotFound : kExitCannotExecute;
      throw CliError(exit_status,
                     "cannot run '" + options_.command[0] + "': " + strerror(exec_error));
    }
    // The command's pid names the marker socket too.
    if (!socket_paths_.empty()) {
      std::string link = marker_socket_path(socket_directory_.path, child);
      if (symlink(socket_paths_[0].c_str(), link.c_str()) == 0) socket_paths_.push_back(link);
    }
    return child;
  }

  // The trace takes its name (the previous one kept as NAME.old) now that the command runs. When
  // it cannot, the recording goes on under the temporary name, which a message gives.
  void put_output_in_place() {
    try {
      output_->commit();
    } catch (const CliError& error) {
      fprintf(stderr, "mmiotrace: %s; the trace goes on in '%s'\n", error.what(),
              output_->temporary_path().c_str());
      written_to_ = output_->temporary_path();
      output_->keep_temporary();
    }
  }

  // In the child: tells the parent why the command could not start.
  [[noreturn]] static void fail_exec(int error_pipe, int error) {
    (void)!write(error_pipe, &error, sizeof(error));
    _exit(error == ENOENT ? kExitCommandNotFound : kExitCannotExecute);
  }

  [[noreturn]] void exec_command(int error_pipe) {
    enter_pci_bus(options_.pci);
    ChildDescriptors fds = child_descriptors();
    if (dup2(buffer_fd_, fds.buffer) < 0 || dup2(wakeup_fd_, fds.wakeup) < 0 ||
        dup2(marker_write_, fds.marker) < 0 ||
        (options_.replay_fd >= 0 && dup2(options_.replay_fd, fds.replay) < 0)) {
      fail_exec(error_pipe, errno);
    }
    if (options_.replay_fd >= 0) {
      setenv(preload::kReplayFdVariable, std::to_string(fds.replay).c_str(), 1);
    } else {
      unsetenv(preload::kReplayFdVariable);
    }
    if (options_.devices.empty()) {
      unsetenv(preload::kDevicesVariable);
    } else {
      std::string devices;
      for (const std::string& device : options_.devices)
        devices += device + "\n";
      setenv(preload::kDevicesVariable, devices.c_str(), 1);
    }
    std::string preload = library_;
    if (const char* existing = getenv("LD_PRELOAD"); existing && *existing) {
      preload += ":" + std::string(existing);
    }
    if (launch_.qemu.empty()) setenv("LD_PRELOAD", preload.c_str(), 1);
    setenv(preload::kBufferFdVariable, std::to_string(fds.buffer).c_str(), 1);
    setenv(preload::kMarkerFdVariable, std::to_string(fds.marker).c_str(), 1);
    std::string marker_path =
        "/proc/" + std::to_string(getppid()) + "/fd/" + std::to_string(marker_read_);
    setenv(preload::kMarkerPathVariable, marker_path.c_str(), 1);
    setenv(preload::kStrategyVariable, options_.strategy.c_str(), 1);
    if (options_.divert) {
      setenv(preload::kDivertVariable, "1", 1);
    } else {
      unsetenv(preload::kDivertVariable);
    }
    if (options_.patch) {
      unsetenv(preload::kPatchVariable);
    } else {
      setenv(preload::kPatchVariable, "0", 1);
    }
    std::string globs;
    for (const std::string& glob : options_.globs)
      globs += glob + "\n";
    setenv(preload::kTraceGlobsVariable, globs.c_str(), 1);
    if (!launch_.qemu.empty()) exec_under_qemu(error_pipe, preload);
    std::vector<char*> argv;
    for (const std::string& argument : options_.command) {
      argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    fail_exec(error_pipe, errno);
  }

  // In the child: runs the AArch64 command under qemu-aarch64, which gives the program (not
  // itself) `preload` as LD_PRELOAD, the command's own name as argv[0], and the rest of the
  // environment as it is. Unless QEMU_CPU names a CPU, qemu's default one without SVE: the
  // emulator does not carry out SVE accesses, and glibc's string functions would use them on
  // traced memory where the CPU has SVE.
  [[noreturn]] void exec_under_qemu(int error_pipe, const std::string& preload) {
    unsetenv("LD_PRELOAD");
    std::vector<std::string> arguments = {launch_.qemu};
    if (getenv("QEMU_CPU") == nullptr) arguments.insert(arguments.end(), {"-cpu", "max,sve=off"});
    if (!launch_.sysroot.empty()) arguments.insert(arguments.end(), {"-L", launch_.sysroot});
    arguments.insert(arguments.end(),
                     {"-E", "LD_PRELOAD=" + preload, "-0", options_.command[0], launch_.program});
    arguments.insert(arguments.end(), options_.command.begin() + 1, options_.command.end());
    std::vector<char*> argv;
    argv.reserve(arguments.size() + 1);
    for (const std::string& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    fail_exec(error_pipe, errno);
  }

  void wait_for_work() {
    uint64_t wait_ns = drainer_->wait_ns();
    if (wait_ns == 0) return;
    std::vector<pollfd> fds = {
        {wakeup_fd_, POLLIN, 0}, {marker_read_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (child_exit_fd_ >= 0) fds.push_back({child_exit_fd_, POLLIN, 0});
    for (const MarkerConnection& connection : marker_connections_)
      fds.push_back({connection.fd, POLLIN, 0});
    struct timespec timeout = sys::timespec_of_ns(wait_ns);
    ppoll(fds.data(), fds.size(), &timeout, nullptr);
    uint64_t count;
    while (read(wakeup_fd_, &count, sizeof(count)) > 0) {
    }
  }

  // Everything that arrived: ring records, markers on the pipe and the socket.
  void collect() {
    try {
      drainer_->drain(*writer_);
      read_marker_pipe();
      serve_marker_connections();
    } catch (const trace::TraceWriteError& error) {
      give_up_writing(error);
    }
  }

  size_t housekeeping() {
    try {
      size_t live = drainer_->reclaim(*writer_);
      writer_->flush();
      return live;
    } catch (const trace::TraceWriteError& error) {
      give_up_writing(error);
      return drainer_->reclaim(*writer_);
    }
  }

  // The last records, markers and losses, and the end of the file. When writing fails here, what
  // is left is still drained, to be counted.
  void finish() {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        drainer_->drain(*writer_);
        read_marker_pipe();
        drainer_->report_losses(*writer_);
        writer_->close();
        break;
      } catch (const trace::TraceWriteError& error) {
        give_up_writing(error);
      }
    }
    if (isatty(2) && options_.output != "-" && failed_writer_ == nullptr) {
      fprintf(stderr, "mmiotrace: trace written to %s; read it with: mmiotrace dump %s\n",
              written_to_.c_str(), written_to_.c_str());
    }
  }

  // The file cannot be written: the program runs on without waiting for a writer that is gone.
  // What the rings hold from now on is drained as before (no ring fills because of the failure)
  // and counted, not written; run() says how many events the trace misses.
  void give_up_writing(const trace::TraceWriteError& error) {
    if (failed_writer_ != nullptr) return;
    write_error_ = error.what();
    failed_writer_ = std::move(writer_);
    writer_ = trace::TraceWriter::discarding();
    buffer_.control().drop_when_full.store(1);
    buffer_.control().writer_pid.store(0);
  }

  static void say_marker_left_out(size_t bytes) {
    fprintf(stderr,
            "mmiotrace: record: a marker of %zu bytes is longer than the %zu a trace holds; it is "
            "not in the trace\n",
            bytes, trace::kMaxTextLength);
  }

  // Records a marker's text; one longer than a trace holds is not cut but left out, and said so.
  // False then.
  bool add_marker(const std::string& text) {
    if (text.size() > trace::kMaxTextLength) {
      say_marker_left_out(text.size());
      return false;
    }
    trace::Event mark;
    mark.kind = trace::EventKind::Mark;
    mark.time_ns = monotonic_ns();
    mark.text = text.c_str();
    mark.text_length = static_cast<uint32_t>(text.size());
    writer_->write_event(mark);
    return true;
  }

  // Lines written to the marker pipe (through $MMIOTRACE_MARKER or its descriptor).
  void read_marker_pipe() {
    char chunk[4096];
    ssize_t got;
    while ((got = read(marker_read_, chunk, sizeof(chunk))) > 0) {
      pending_marker_.append(chunk, static_cast<size_t>(got));
      size_t newline;
      while ((newline = pending_marker_.find('\n')) != std::string::npos) {
        if (pending_too_long_ == 0) {
          add_marker(pending_marker_.substr(0, newline + 1));
        } else {
          say_marker_left_out(pending_too_long_ + newline + 1);
          pending_too_long_ = 0;
        }
        pending_marker_.erase(0, newline + 1);
      }
      // A line longer than a marker holds: its bytes are counted until its end, not kept.
      if (pending_marker_.size() > trace::kMaxTextLength) {
        pending_too_long_ += pending_marker_.size();
        pending_marker_.clear();
      }
    }
  }

  // `mmiotrace mark`: one connection per marker, from this user only, which sends its text and
  // shuts its side; answered "ok". Connections are read as their bytes come, between drains: a
  // client that sends nothing holds one of kMaxMarkerConnections places for kMarkerPatienceNs at
  // most, never the drain.
  void serve_marker_connections() {
    uint64_t now = monotonic_ns();
    accept_marker_connections(now);
    for (size_t i = 0; i < marker_connections_.size();) {
      MarkerConnection& connection = marker_connections_[i];
      bool done = false;
      char chunk[4096];
      ssize_t got;
      while ((got = read(connection.fd, chunk, sizeof(chunk))) > 0) {
        connection.text.append(chunk, static_cast<size_t>(got));
        if (connection.text.size() > trace::kMaxTextLength) break;
      }
      if (got == 0 || connection.text.size() > trace::kMaxTextLength) {
        done = true;
        if (!connection.text.empty()) {
          const char* answer =
              add_marker(connection.text) ? "ok\n" : "refused: longer than a marker holds\n";
          (void)!send(connection.fd, answer, strlen(answer), MSG_NOSIGNAL);
        }
      } else if ((got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
                 now - connection.since_ns > kMarkerPatienceNs) {
        done = true;  // a failed connection, or one that never finished: no marker
      }
      if (done) {
        close(connection.fd);
        marker_connections_.erase(marker_connections_.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
  }

  void accept_marker_connections(uint64_t now) {
    if (listen_fd_ < 0) return;
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) return;
      struct ucred peer = {};
      socklen_t length = sizeof(peer);
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.uid != getuid() ||
          marker_connections_.size() >= kMaxMarkerConnections) {
        close(fd);
        continue;
      }
      marker_connections_.push_back({fd, now, {}});
    }
  }

  const RecordOptions& options_;
  const CommandLaunch launch_;
  std::string library_;
  std::optional<OutputFile> output_;
  std::string written_to_ = options_.output;  // where the trace is, for the last message
  std::unique_ptr<trace::TraceWriter> writer_;
  trace::TraceBuffer buffer_;
  std::unique_ptr<trace::TraceDrainer> drainer_;
  int buffer_fd_ = -1;
  int wakeup_fd_ = -1;
  int marker_read_ = -1;
  int marker_write_ = -1;
  int listen_fd_ = -1;  // -1: no marker socket
  MarkerSocketDirectory socket_directory_;
  struct MarkerConnection {
    int fd;
    uint64_t since_ns;
    std::string text;
  };
  std::vector<MarkerConnection> marker_connections_;
  std::vector<std::string> socket_paths_;
  std::string pending_marker_;
  size_t pending_too_long_ = 0;  // bytes of a marker line too long to keep, read so far
  int child_exit_fd_ = -1;       // readable once the command has exited; -1 once it is reaped
  // Once writing failed: the writer that failed (kept to end its file), and why.
  std::unique_ptr<trace::TraceWriter> failed_writer_;
  std::string write_error_;
};

}  // namespace

int mirror_status(int wait_status) {
  return mirror_status_of(wait_status);
}

void choose_output_format(RecordOptions& options, std::optional<trace::TraceFormat> format,
                          bool compress, const std::string& subcommand) {
  if (trace::names_unwritable_compression(options.output)) {
    throw CliError(kExitUsage, subcommand + ": cannot write '" + options.output +
                                   "': mmiotrace reads xz but writes zstd (.zst) or gzip (.gz)");
  }
  trace::TraceOutputKind kind =
      trace::output_kind_of_name(options.output).value_or(trace::TraceOutputKind{});
  if (format) kind.format = *format;
  if (compress && kind.compression == trace::TraceCompression::None) {
    kind.compression = trace::TraceCompression::Zstd;
  }
  options.format = kind.format;
  options.compression = kind.compression;
}

std::string incomplete_trace_message(const std::string& command, const RecordingOutcome& outcome) {
  int status = outcome.wait_status;
  std::string ended = "ended";
  if (WIFEXITED(status)) {
    ended = "exited " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    ended = "was killed by " +
            (name ? std::string("SIG") + name : "signal " + std::to_string(WTERMSIG(status)));
  }
  return outcome.write_error + ": the trace is incomplete, " + std::to_string(outcome.events_lost) +
         " events lost ('" + command + "' " + ended + ")";
}

namespace {

// qemu-aarch64 and the AArch64 shim for an AArch64 `program`.
CommandLaunch arm64_launch(const RecordOptions& options, const std::string& program,
                           const ProgramKind& kind) {
  CommandLaunch launch;
  launch.program = program;
  std::string qemu = options.qemu.empty() ? "qemu-aarch64" : options.qemu;
  std::optional<std::string> found = find_command(qemu);
  if (!found || access(found->c_str(), X_OK) != 0) {
    throw CliError(kExitNoQemu,
                   "'" + program + "' is an AArch64 program, to be run under qemu-aarch64, and " +
                       (options.qemu.empty() ? std::string("none is on $PATH")
                                             : "--qemu " + options.qemu + " is not an executable") +
                       ": install qemu-user, or name its qemu-aarch64 with --qemu PATH");
  }
  launch.qemu = *found;
  launch.library = find_arm64_shim_library();
  // The program's loader and libraries: where QEMU_LD_PREFIX says, or arm64_library_root()'s.
  if (kind.dynamic && getenv("QEMU_LD_PREFIX") == nullptr) {
    launch.sysroot = arm64_library_root();
    if (arm64_libraries_mixed()) {
      fprintf(stderr,
              "mmiotrace: record: libc6:arm64 is installed without libstdc++6:arm64, so '%s' "
              "runs on the cross toolchain's loader with the multiarch C library, where threads "
              "hang; install libstdc++6:arm64\n",
              program.c_str());
    }
  }
  return launch;
}

}  // namespace

CommandLaunch check_traceable(const RecordOptions& options) {
  // Before anything is made or written; exec would say the same (start_command()).
  const std::string& command = options.command.front();
  std::optional<std::string> program = find_command(command);
  if (!program) {
    throw CliError(kExitCommandNotFound, "cannot run '" + command + "': " + strerror(ENOENT));
  }
  if (access(program->c_str(), X_OK) != 0) {
    int error = errno;
    throw CliError(error == ENOENT ? kExitCommandNotFound : kExitCannotExecute,
                   "cannot run '" + command + "': " + strerror(error));
  }
  ProgramKind kind = program_kind(*program);
  if (kind.machine == ProgramMachine::Aarch64BigEndian) {
    throw CliError(kExitForeignProgram,
                   "'" + *program + "' is a big-endian AArch64 (aarch64_be) program; mmiotrace " +
                       "traces little-endian AArch64 programs only");
  }
  if (kind.machine == ProgramMachine::Other) {
    throw CliError(kExitForeignProgram, "'" + *program + "' is a " + kind.name +
                                            " program; mmiotrace traces x86-64 " +
                                            "programs, and AArch64 ones under qemu-aarch64");
  }
  if (is_statically_linked(*program)) {
    throw CliError(kExitStaticProgram,
                   "'" + *program +
                       "' is statically linked, and the tracer reaches programs only through "
                       "the dynamic loader (LD_PRELOAD); trace a dynamically linked build of it");
  }
  if (kind.machine == ProgramMachine::Aarch64) return arm64_launch(options, *program, kind);
  return CommandLaunch{};
}

RecordingOutcome run_recording(const RecordOptions& options) {
  if (const char* policy = getenv(preload::kCodeCachePolicyVariable);
      policy != nullptr && !preload::is_code_cache_policy(policy)) {
    throw CliError(kExitUsage, std::string(preload::kCodeCachePolicyVariable) + "=" + policy +
                                   " is not a code-cache policy (" +
                                   preload::kCodeCachePolicyNames + ")");
  }
  CommandLaunch launch = check_traceable(options);
  Recording recording(options, launch);
  return recording.run();
}

}  // namespace mmiotrace::cli
