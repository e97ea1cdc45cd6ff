// Running a program for the end-to-end tests: in a directory, with its output captured and its
// wait status kept whole (exit code, signal, core dump).
#pragma once

#include <string>
#include <vector>

namespace mmiotrace::e2e {

struct ProgramResult {
  std::string out;
  std::string err;
  int status = 0;  // as from waitpid()
};

// Runs `argv` in `directory` with core dumps allowed, stdin from /dev/null.
ProgramResult run_program(const std::vector<std::string>& argv, const std::string& directory,
                          const std::vector<std::string>& extra_environment = {});

// The two halves of run_program(), for a program that runs while the test does something else.
// Output goes to files in `directory`.
int start_program(const std::vector<std::string>& argv, const std::string& directory,
                  const std::vector<std::string>& extra_environment = {});
ProgramResult finish_program(int pid, const std::string& directory);

// "exited 3", "killed by SIGSEGV (core dumped)"...
std::string describe_status(int status);

// A fresh empty directory under $TMPDIR, removed by the destructor.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

}  // namespace mmiotrace::e2e
