// Running programs for the end-to-end tests (see program_runner.hpp).
#include "program_runner.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mmiotrace::e2e {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TemporaryDirectory::TemporaryDirectory() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/mmiotrace-e2e-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buffer.data();
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

int start_program(const std::vector<std::string>& argv, const std::string& directory,
                  const std::vector<std::string>& extra_environment) {
  std::string out_path = directory + "/.stdout";
  std::string err_path = directory + "/.stderr";
  pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    if (chdir(directory.c_str()) != 0) _exit(120);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(121);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    struct rlimit core = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &core);
    for (const std::string& assignment : extra_environment) {
      putenv(const_cast<char*>(assignment.c_str()));
    }
    std::vector<char*> args;
    for (const std::string& argument : argv)
      args.push_back(const_cast<char*>(argument.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return child;
}

ProgramResult finish_program(int pid, const std::string& directory) {
  ProgramResult result;
  while (waitpid(pid, &result.status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  std::string out_path = directory + "/.stdout";
  std::string err_path = directory + "/.stderr";
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

ProgramResult run_program(const std::vector<std::string>& argv, const std::string& directory,
                          const std::vector<std::string>& extra_environment) {
  return finish_program(start_program(argv, directory, extra_environment), directory);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    std::string text = std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
    if (WCOREDUMP(status)) text += " (core dumped)";
    return text;
  }
  return "status " + std::to_string(status);
}

}  // namespace mmiotrace::e2e
