// Marker sockets (see marker_socket.hpp).
#include "cli/marker_socket.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "cli/cli_error.hpp"

namespace mmiotrace::cli {
namespace {

struct UsualDirectory {
  std::string parent;
  std::string name;
};

UsualDirectory usual_directory() {
  const char* runtime = getenv("XDG_RUNTIME_DIR");
  if (runtime && *runtime) return {runtime, "mmiotrace"};
  return {"/tmp", "mmiotrace-" + std::to_string(getuid())};
}

// A directory of this user's that no one else may enter or change, not through a link.
bool is_private_directory(const std::string& path) {
  struct stat status;
  return lstat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode) &&
         status.st_uid == getuid() && (status.st_mode & 077) == 0;
}

}  // namespace

MarkerSocketDirectory make_marker_socket_directory() {
  UsualDirectory usual = usual_directory();
  std::string directory = usual.parent + "/" + usual.name;
  int made = mkdir(directory.c_str(), 0700);
  if ((made == 0 || errno == EEXIST) && is_private_directory(directory))
    return {directory, false, ""};
  std::string why = made != 0 && errno != EEXIST
                        ? "cannot create '" + directory + "': " + strerror(errno)
                        : "'" + directory + "' is not a private directory of yours";
  std::string own = directory + ".XXXXXX";
  if (mkdtemp(own.data()) == nullptr) {
    throw CliError(kExitCannotTrace, "cannot make a directory for the marker socket: " + why +
                                         ", and '" + own + "': " + strerror(errno));
  }
  return {own, true, why + "; listening for markers in '" + own + "' instead"};
}

std::vector<std::string> marker_socket_directories() {
  UsualDirectory usual = usual_directory();
  std::vector<std::string> directories;
  std::string directory = usual.parent + "/" + usual.name;
  if (is_private_directory(directory)) directories.push_back(directory);
  DIR* parent = opendir(usual.parent.c_str());
  if (parent == nullptr) return directories;
  std::string prefix = usual.name + ".";
  while (dirent* entry = readdir(parent)) {
    std::string name = entry->d_name;
    if (name.size() != prefix.size() + 6 || name.rfind(prefix, 0) != 0) continue;
    std::string path = usual.parent + "/" + name;
    if (is_private_directory(path)) directories.push_back(path);
  }
  closedir(parent);
  return directories;
}

std::string marker_socket_path(const std::string& directory, int pid) {
  return directory + "/" + std::to_string(pid) + ".sock";
}

std::vector<int> listening_recordings(const std::vector<std::string>& directories) {
  std::vector<int> pids;
  for (const std::string& directory : directories) {
    DIR* dir = opendir(directory.c_str());
    if (dir == nullptr) continue;
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name.size() <= 5 || name.substr(name.size() - 5) != ".sock") continue;
      std::string path = directory + "/" + name;
      struct stat status;
      if (lstat(path.c_str(), &status) != 0 || !S_ISSOCK(status.st_mode)) continue;  // not links
      int pid = atoi(name.c_str());
      if (pid > 0 && kill(pid, 0) == 0) pids.push_back(pid);
    }
    closedir(dir);
  }
  return pids;
}

std::string find_marker_socket(const std::vector<std::string>& directories, int pid) {
  for (const std::string& directory : directories) {
    std::string path = marker_socket_path(directory, pid);
    if (access(path.c_str(), F_OK) == 0) return path;
  }
  return directories.empty() ? "" : marker_socket_path(directories[0], pid);
}

}  // namespace mmiotrace::cli
