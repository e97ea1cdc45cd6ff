// Where a recording listens for markers from outside (`mmiotrace mark`): a Unix socket in a
// directory only its user can enter ($XDG_RUNTIME_DIR/mmiotrace, or /tmp/mmiotrace-UID), named
// after the recording's pid and, by a link, after its command's pid.
#pragma once

#include <string>
#include <vector>

namespace mmiotrace::cli {

// The directory, created (mode 0700) if need be. Throws CliError when it exists but is not the
// user's own private directory.
std::string marker_socket_directory();

std::string marker_socket_path(const std::string& directory, int pid);

// The pids of the recordings listening now (their sockets in the directory).
std::vector<int> listening_recordings(const std::string& directory);

}  // namespace mmiotrace::cli
