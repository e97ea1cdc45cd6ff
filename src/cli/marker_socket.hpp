// Where a recording listens for markers from outside (`mmiotrace mark`): a Unix socket in a
// directory only its user can enter ($XDG_RUNTIME_DIR/mmiotrace, or /tmp/mmiotrace-UID; when that
// name is taken by a file or directory that is not the user's private directory, a private
// directory of its own beside it, made with mkdtemp: NAME.XXXXXX), named after the recording's
// pid and, by a link, after its command's pid.
#pragma once

#include <string>
#include <vector>

namespace mmiotrace::cli {

struct MarkerSocketDirectory {
  std::string path;
  bool made_for_one = false;  // a mkdtemp directory: its recording removes it at the end
  std::string warning;        // why the usual directory was not used ("" when it was)
};

// The directory a recording listens in: the usual one, created (mode 0700) if need be, or a
// private one of its own when the usual one is not the user's private directory (anyone can make
// /tmp/mmiotrace-UID before the user does). Throws CliError when neither can be made.
MarkerSocketDirectory make_marker_socket_directory();

// The directories this user's recordings may listen in: the usual one when it is the user's
// private directory, then the private ones made beside it.
std::vector<std::string> marker_socket_directories();

std::string marker_socket_path(const std::string& directory, int pid);

// The pids of the recordings listening now (their sockets in the directories).
std::vector<int> listening_recordings(const std::vector<std::string>& directories);

// The socket of the recording (or command) with pid `pid` in the directories; the path in the
// first directory (or "") when there is none.
std::string find_marker_socket(const std::vector<std::string>& directories, int pid);

}  // namespace mmiotrace::cli
