// `mmiotrace mark`: adds a marker to a running recording, through its socket.
// (Declared in subcommands.hpp, with the other subcommands.)
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/marker_socket.hpp"
#include "cli/subcommands.hpp"
#include "trace/binary_format.hpp"

namespace mmiotrace::cli {

int run_mark(const Arguments& arguments) {
  // TEXT is all that follows the options, whatever its words look like ("--" before a first
  // word that starts with '-').
  ArgumentReader reader("mark", arguments, 0);
  int pid = 0;
  while (reader.next_option()) {
    if (auto value = reader.take_value("--pid")) {
      char* end = nullptr;
      long parsed = strtol(value->c_str(), &end, 10);
      if (value->empty() || *end != '\0' || parsed <= 0) {
        throw CliError(kExitUsage, "mark: --pid needs a process id, not '" + *value + "'");
      }
      pid = static_cast<int>(parsed);
    } else {
      reader.reject_option();
    }
  }
  std::vector<std::string> words = reader.rest();
  if (words.empty())
    throw CliError(kExitUsage, "mark: no text; usage: mmiotrace mark [--pid PID] TEXT...");
  std::string text;
  for (const std::string& word : words)
    text += (text.empty() ? "" : " ") + word;
  text += "\n";
  if (text.size() > trace::kMaxTextLength) {  // never cut: the recording would shorten it
    throw CliError(kExitUsage, "mark: the text is " + std::to_string(text.size() - 1) +
                                   " bytes; a marker holds at most " +
                                   std::to_string(trace::kMaxTextLength - 1));
  }

  std::vector<std::string> directories = marker_socket_directories();
  if (pid == 0) {
    std::vector<int> running = listening_recordings(directories);
    if (running.empty()) {
      throw CliError(kExitNoRecording,
                     "mark: no recording of yours is running; start one with "
                     "'mmiotrace record'");
    }
    if (running.size() > 1) {
      std::string pids;
      for (int running_pid : running)
        pids += " " + std::to_string(running_pid);
      throw CliError(kExitNoRecording, "mark: several recordings are running (pids" + pids +
                                           "); choose one with --pid");
    }
    pid = running[0];
  }
  std::string path = find_marker_socket(directories, pid);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    throw CliError(kExitNoRecording, "mark: no recording with pid " + std::to_string(pid) +
                                         " is running (" + strerror(errno) + ")");
  }
  struct timeval timeout = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char reply[8] = {};
  bool sent = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              shutdown(fd, SHUT_WR) == 0 && read(fd, reply, sizeof(reply) - 1) > 0 &&
              strncmp(reply, "ok", 2) == 0;
  close(fd);
  if (!sent) {
    throw CliError(kExitNoRecording, "mark: the recording with pid " + std::to_string(pid) +
                                         " did not take the marker");
  }
  return 0;
}

}  // namespace mmiotrace::cli
