// Helpers for the tests of trace files: temporary files, writing and reading them whole.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace mmiotrace::testing {

// A temporary file name, removed at the end of the scope.
class TemporaryFile {
 public:
  TemporaryFile() {
    char name[] = "/tmp/mmiotrace-trace-XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0) close(fd);
    path_ = name;
  }
  ~TemporaryFile() { unlink(path_.c_str()); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }
  int open_for_writing() const { return ::open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC); }
  std::string content() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  }
  void set_content(const std::string& bytes) const {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }

 private:
  std::string path_;
};

}  // namespace mmiotrace::testing
