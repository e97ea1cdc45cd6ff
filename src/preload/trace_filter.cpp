// Matching mapped files against the trace globs (see trace_filter.hpp).
#include "preload/trace_filter.hpp"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace mmiotrace::preload {

const std::vector<std::string> kDefaultTraceGlobs = {
    "/dev/mem",
    "/sys/bus/pci/devices/*/resource*",
    "/dev/uio*",
    "/dev/vfio/*",
};

TraceFilter::TraceFilter(std::vector<std::string> globs) : globs_(std::move(globs)) {
  for (const std::string& pattern : globs_) {
    glob_t found = {};
    if (glob(pattern.c_str(), 0, nullptr, &found) == 0) {
      for (size_t i = 0; i < found.gl_pathc; ++i) {
        struct stat status;
        if (stat(found.gl_pathv[i], &status) == 0) {
          named_files_.insert({status.st_dev, status.st_ino});
        }
      }
    }
    globfree(&found);
  }
}

std::optional<std::string> TraceFilter::match(int fd) const {
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t length = readlink(link, target, sizeof(target) - 1);
  if (length <= 0) return std::nullopt;
  std::string path(target, static_cast<size_t>(length));
  for (const std::string& pattern : globs_) {
    if (fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) return path;
  }
  struct stat status;
  if (fstat(fd, &status) == 0 && named_files_.count({status.st_dev, status.st_ino})) return path;
  return std::nullopt;
}

}  // namespace mmiotrace::preload
