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

std::string marker_socket_directory() {
  const char* runtime = getenv("XDG_RUNTIME_DIR");
  std::string directory = runtime && *runtime ? std::string(runtime) + "/mmiotrace"
                                              : "/tmp/mmiotrace-" + std::to_string(getuid());
  if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    throw CliError(kExitCannotTrace, "cannot create the marker socket directory '" + directory +
                                         "': " + strerror(errno));
  }
  struct stat status;
  if (lstat(directory.c_str(), &status) != 0 || !S_ISDIR(status.st_mode) ||
      status.st_uid != getuid() || (status.st_mode & 077) != 0) {
    throw CliError(kExitCannotTrace, "'" + directory +
                                         "' is not a private directory of yours; remove it and "
                                         "try again");
  }
  return directory;
}

std::string marker_socket_path(const std::string& directory, int pid) {
  return directory + "/" + std::to_string(pid) + ".sock";
}

std::vector<int> listening_recordings(const std::string& directory) {
  std::vector<int> pids;
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) return pids;
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
  return pids;
}

}  // namespace mmiotrace::cli
