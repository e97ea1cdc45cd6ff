// The files the mmiotrace command writes trace data to (see output_file.hpp).
#include "cli/output_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/cli_error.hpp"

namespace mmiotrace::cli {
namespace {

// Links followed before a path is taken for a loop, as the kernel's limit.
constexpr int kMaxLinks = 40;

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A directory anyone may add names to, but only their own may remove: /tmp, /var/tmp.
bool sticky_and_shared(const struct stat& directory, mode_t writable_by) {
  return (directory.st_mode & S_ISVTX) != 0 && (directory.st_mode & writable_by) != 0;
}

// The file the interrupt handler removes: set while an OutputFile asks it (remove_on_interrupt).
char g_remove_on_interrupt[PATH_MAX];
constexpr int kInterruptSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Async-signal-safe: unlink, signal and raise only.
void remove_and_reraise(int signo) {
  if (g_remove_on_interrupt[0] != '\0') unlink(g_remove_on_interrupt);
  signal(signo, SIG_DFL);
  raise(signo);
}

}  // namespace

OutputFile::OutputFile(std::string failure, const std::string& path, Previous previous)
    : failure_(std::move(failure)), previous_(previous) {
  if (path == "-") {
    name_ = "standard output";
    fd_ = fcntl(1, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) fail(strerror(errno));
    return;
  }
  name_ = path;
  // Follow the links at `path` as protected_symlinks would, even where it is off.
  target_ = path;
  struct stat file = {};
  bool exists = false;
  for (int links = 0;; ++links) {
    if (lstat(target_.c_str(), &file) != 0) {
      if (errno != ENOENT) fail(strerror(errno));
      break;  // a new file, or the one a dangling link names
    }
    if (!S_ISLNK(file.st_mode)) {
      exists = true;
      break;
    }
    if (links == kMaxLinks) fail(strerror(ELOOP));
    struct stat directory = {};
    if (stat(directory_of(target_).c_str(), &directory) != 0) fail(strerror(errno));
    if (file.st_uid != geteuid() && sticky_and_shared(directory, S_IWOTH) &&
        file.st_uid != directory.st_uid) {
      fail("'" + target_ +
           "' is a symbolic link of another user in a shared directory; not followed (remove "
           "it, or write elsewhere)");
    }
    // A link to a pipe, a terminal or a device (/dev/fd/3, /dev/stdout: magic links whose
    // text is no path) is opened through, in place.
    struct stat followed = {};
    if (stat(target_.c_str(), &followed) == 0 && !S_ISREG(followed.st_mode) &&
        !S_ISDIR(followed.st_mode)) {
      fd_ = open(target_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) fail(strerror(errno));
      return;
    }
    char link[PATH_MAX];
    ssize_t length = readlink(target_.c_str(), link, sizeof(link) - 1);
    if (length < 0) fail(strerror(errno));
    link[length] = '\0';
    target_ = link[0] == '/' ? std::string(link) : directory_of(target_) + "/" + link;
  }
  if (exists) {
    if (S_ISDIR(file.st_mode)) fail(strerror(EISDIR));
    struct stat directory = {};
    if (stat(directory_of(target_).c_str(), &directory) != 0) fail(strerror(errno));
    if ((S_ISREG(file.st_mode) || S_ISFIFO(file.st_mode)) && file.st_uid != geteuid() &&
        sticky_and_shared(directory, S_IWGRP | S_IWOTH) && file.st_uid != directory.st_uid) {
      fail("'" + target_ +
           "' belongs to another user, in a shared directory; not written (remove it, or "
           "write elsewhere)");
    }
    if (!S_ISREG(file.st_mode)) {
      // A FIFO, a terminal, /dev/null: written in place, never replaced.
      fd_ = open(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd_ < 0) fail(strerror(errno));
      return;
    }
  }
  std::string pattern = directory_of(target_) + "/." + base_name_of(target_) + ".XXXXXX";
  fd_ = mkostemp(pattern.data(), O_CLOEXEC);  // mode 0600
  if (fd_ < 0) fail(strerror(errno));
  temporary_ = pattern;
}

OutputFile::~OutputFile() {
  stop_removing_on_interrupt();
  if (fd_ >= 0) close(fd_);
  if (!temporary_.empty()) unlink(temporary_.c_str());
}

void OutputFile::fail(const std::string& why) const {
  throw CliError(kExitCannotWriteTrace, failure_ + " '" + name_ + "': " + why);
}

int OutputFile::take_descriptor() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void OutputFile::remove_on_interrupt() {
  if (temporary_.empty() || temporary_.size() >= sizeof(g_remove_on_interrupt)) return;
  memcpy(g_remove_on_interrupt, temporary_.c_str(), temporary_.size() + 1);
  for (int signo : kInterruptSignals) {
    struct sigaction current = {};
    sigaction(signo, nullptr, &current);
    if (current.sa_handler == SIG_IGN) continue;  // as the caller's parent asked
    signal(signo, &remove_and_reraise);
  }
  removing_on_interrupt_ = true;
}

void OutputFile::stop_removing_on_interrupt() {
  if (!removing_on_interrupt_) return;
  for (int signo : kInterruptSignals) {
    struct sigaction current = {};
    sigaction(signo, nullptr, &current);
    if (current.sa_handler == &remove_and_reraise) signal(signo, SIG_DFL);
  }
  g_remove_on_interrupt[0] = '\0';
  removing_on_interrupt_ = false;
}

void OutputFile::commit() {
  if (temporary_.empty()) return;
  stop_removing_on_interrupt();
  struct stat previous = {};
  if (previous_ == Previous::KeptOld && lstat(target_.c_str(), &previous) == 0 &&
      S_ISREG(previous.st_mode) && previous.st_size > 0) {
    std::string old = target_ + ".old";
    if (rename(target_.c_str(), old.c_str()) != 0) {
      fail("cannot keep the previous trace as '" + old + "': " + strerror(errno));
    }
  }
  if (rename(temporary_.c_str(), target_.c_str()) != 0) {
    fail("cannot rename '" + temporary_ + "' to it: " + strerror(errno));
  }
  temporary_.clear();
}

void OutputFile::keep_temporary() {
  stop_removing_on_interrupt();
  temporary_.clear();
}

}  // namespace mmiotrace::cli
