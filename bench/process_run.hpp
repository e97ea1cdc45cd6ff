// Running a whole program for a benchmark: in a directory, under a stack limit, with variables
// added to or taken from its environment and its output in files; what comes back is its wall
// time, wait status and peak resident memory. A program still running past its time limit, or
// one of whose processes grows past a resident size, is killed with its process group.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace mmiotrace::bench {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::string directory;  // where it runs
  std::string out_path;   // its standard output and error go to these files
  std::string err_path;
  std::vector<std::pair<std::string, std::string>> set_environment;
  std::vector<std::string> unset_environment;
  rlim_t stack_limit = RLIM_INFINITY;  // RLIMIT_STACK's soft limit, set before exec
  double timeout_seconds = 600;
  long rss_limit_kib = 0;  // the resident size no process of it may pass (0: none)
};

struct ProcessResult {
  std::string failed_to_start;  // why it could not be run (empty when it ran)
  bool timed_out = false;
  long over_rss_kib = 0;  // when one of its processes passed the limit: its resident size
  int status = 0;         // as from wait4()
  double seconds = 0;     // wall time, fork to reaping
  long max_rss_kib = 0;   // ru_maxrss: the largest resident set among the program and the
                          // descendants it reaped (not their sum)
};

inline double monotonic_seconds() {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) / 1e9;
}

// "exited 0", "killed by SIGSEGV", "killed by SIGABRT (core dumped)".
inline std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    std::string text = "killed by " + (name ? "SIG" + std::string(name)
                                            : "signal " + std::to_string(WTERMSIG(status)));
    return WCOREDUMP(status) ? text + " (core dumped)" : text;
  }
  return "wait status " + std::to_string(status);
}

// The largest resident size among the live processes of process group `group`, in KiB.
inline long largest_rss_kib(pid_t group) {
  long largest = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  long page_kib = sysconf(_SC_PAGESIZE) / 1024;
  while (struct dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    char path[sizeof(entry->d_name) + 16], stat[1024];
    snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t length = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (length <= 0) continue;
    stat[length] = '\0';
    // After "PID (COMM) ": state, ppid, pgrp, 18 fields more (vsize last), then rss in pages.
    const char* fields = strrchr(stat, ')');
    long pgrp, rss_pages;
    static const char kFormat[] =
        " %*c %*s %ld %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %ld";
    if (fields == nullptr || sscanf(fields + 1, kFormat, &pgrp, &rss_pages) != 2) continue;
    if (pgrp == group) largest = std::max(largest, rss_pages * page_kib);
  }
  closedir(proc);
  return largest;
}

// Runs `spec.argv` (found on $PATH) in a process group of its own and waits for it. The child
// reports a failure to set itself up or to exec through a pipe, as an errno and a step.
inline ProcessResult run_process(const ProcessSpec& spec) {
  ProcessResult result;
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    result.failed_to_start = std::string("pipe: ") + strerror(errno);
    return result;
  }
  std::vector<char*> args;
  for (const std::string& arg : spec.argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  double start = monotonic_seconds();
  pid_t child = fork();
  if (child < 0) {
    result.failed_to_start = std::string("fork: ") + strerror(errno);
    close(report[0]);
    close(report[1]);
    return result;
  }
  if (child == 0) {
    auto fail = [&](int step) {
      int error[2] = {errno, step};
      (void)!write(report[1], error, sizeof(error));
      _exit(126);
    };
    setpgid(0, 0);
    if (chdir(spec.directory.c_str()) != 0) fail(0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(spec.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(spec.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) fail(1);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) fail(1);
    struct rlimit stack;
    getrlimit(RLIMIT_STACK, &stack);
    stack.rlim_cur = spec.stack_limit;
    if (setrlimit(RLIMIT_STACK, &stack) != 0) fail(2);
    for (const std::string& name : spec.unset_environment)
      unsetenv(name.c_str());
    for (const auto& [name, value] : spec.set_environment)
      setenv(name.c_str(), value.c_str(), 1);
    execvp(args[0], args.data());
    fail(3);
  }
  close(report[1]);
  int error[2] = {0, 0};
  ssize_t got;
  do {
    got = read(report[0], error, sizeof(error));
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  // The wait, through a pidfd (Linux 5.3), bounded in time and, looked at every second, in
  // memory; without a pidfd, unbounded.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (pidfd >= 0) {
    struct pollfd ready = {pidfd, POLLIN, 0};
    for (;;) {
      double left = spec.timeout_seconds - (monotonic_seconds() - start);
      if (left <= 0) {
        result.timed_out = true;
        break;
      }
      int waited = poll(&ready, 1, static_cast<int>(std::min(left, 1.0) * 1000) + 1);
      if (waited > 0) break;
      if (waited < 0 && errno != EINTR) break;
      if (spec.rss_limit_kib > 0) {
        long largest = largest_rss_kib(child);
        if (largest > spec.rss_limit_kib) {
          result.over_rss_kib = largest;
          break;
        }
      }
    }
    close(pidfd);
    if (result.timed_out || result.over_rss_kib > 0) kill(-child, SIGKILL);
  }
  // Its end, without reaping it: its process group stays its own until then, so that whatever
  // of the group outlives it can be killed.
  siginfo_t ended;
  while (waitid(P_PID, static_cast<id_t>(child), &ended, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  result.seconds = monotonic_seconds() - start;
  kill(-child, SIGKILL);
  struct rusage usage = {};
  while (wait4(child, &result.status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.max_rss_kib = usage.ru_maxrss;
  if (got == sizeof(error)) {
    static const char* const kSteps[] = {"chdir", "opening its output files",
                                         "setting RLIMIT_STACK", "exec"};
    result.failed_to_start = std::string(kSteps[error[1]]) + ": " + strerror(error[0]);
  }
  return result;
}

}  // namespace mmiotrace::bench
