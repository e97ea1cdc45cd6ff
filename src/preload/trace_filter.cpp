// Matching mapped files against the trace globs (see trace_filter.hpp).
#include "preload/trace_filter.hpp"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <cstdio>
#include <set>
#include <string_view>

namespace mmiotrace::preload {

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

namespace {

std::string fd_target(const std::string& link) {
  char target[4096];
  ssize_t length = readlink(link.c_str(), target, sizeof(target) - 1);
  return length > 0 ? std::string(target, static_cast<size_t>(length)) : std::string();
}

std::vector<std::string> open_file_paths() {
  std::vector<std::string> paths;
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return paths;
  while (dirent* entry = readdir(fds)) {
    if (entry->d_name[0] != '.')
      paths.push_back(fd_target(std::string("/proc/self/fd/") + entry->d_name));
  }
  closedir(fds);
  return paths;
}

}  // namespace

std::string vfio_device_path(const std::vector<std::string>& open_paths, const std::string& sysfs) {
  std::vector<std::pair<std::string, std::string>> devices;  // group, device
  std::set<std::string> groups;
  for (const std::string& path : open_paths) {
    constexpr std::string_view kVfio = "/dev/vfio/";
    if (path.rfind(kVfio, 0) != 0) continue;
    std::string group = path.substr(kVfio.size());
    if (group.empty() || group.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!groups.insert(group).second) continue;
    DIR* members = opendir((sysfs + "/kernel/iommu_groups/" + group + "/devices").c_str());
    if (members == nullptr) continue;
    while (dirent* entry = readdir(members)) {
      if (entry->d_name[0] != '.') devices.emplace_back(group, entry->d_name);
    }
    closedir(members);
  }
  if (devices.size() != 1) return "";
  return "vfio-device:" + devices[0].first + ":" + devices[0].second;
}

std::optional<std::string> TraceFilter::match(int fd) const {
  std::string path = fd_target("/proc/self/fd/" + std::to_string(fd));
  if (path.empty()) return std::nullopt;
  if (path == "anon_inode:[vfio-device]") {
    std::string device = vfio_device_path(open_file_paths());
    if (device.empty()) return std::nullopt;
    std::string group = device.substr(12, device.find(':', 12) - 12);
    for (const std::string& pattern : globs_) {
      if (fnmatch(pattern.c_str(), ("/dev/vfio/" + group).c_str(), FNM_PATHNAME) == 0) {
        return device;
      }
    }
    return std::nullopt;
  }
  for (const std::string& pattern : globs_) {
    if (fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) return path;
  }
  struct stat status;
  if (fstat(fd, &status) == 0 && named_files_.count({status.st_dev, status.st_ino})) return path;
  return std::nullopt;
}

}  // namespace mmiotrace::preload
