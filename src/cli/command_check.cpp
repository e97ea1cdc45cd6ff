// Checks of the command `mmiotrace record` runs (see command_check.hpp).
#include "cli/command_check.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace mmiotrace::cli {

std::optional<std::string> find_command(const std::string& command) {
  if (command.empty()) return std::nullopt;
  if (command.find('/') != std::string::npos) return command;
  const char* path = getenv("PATH");
  std::string directories = path ? path : "/usr/local/bin:/bin:/usr/bin";
  size_t start = 0;
  for (;;) {
    size_t end = directories.find(':', start);
    std::string directory = directories.substr(start, end - start);
    std::string candidate = (directory.empty() ? "." : directory) + "/" + command;
    struct stat status;
    if (stat(candidate.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

bool is_statically_linked(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr header;
  bool is_static = false;
  if (pread(fd, &header, sizeof(header), 0) == static_cast<ssize_t>(sizeof(header)) &&
      memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 && header.e_ident[EI_CLASS] == ELFCLASS64 &&
      (header.e_type == ET_EXEC || header.e_type == ET_DYN) &&
      header.e_phentsize == sizeof(Elf64_Phdr) && header.e_phnum > 0 && header.e_phnum < 4096) {
    std::vector<Elf64_Phdr> segments(header.e_phnum);
    ssize_t size = static_cast<ssize_t>(segments.size() * sizeof(Elf64_Phdr));
    if (pread(fd, segments.data(), static_cast<size_t>(size), static_cast<off_t>(header.e_phoff)) ==
        size) {
      bool has_interpreter = false;
      for (const Elf64_Phdr& segment : segments)
        has_interpreter |= segment.p_type == PT_INTERP;
      // Without an interpreter: a static executable, a static-pie one (ET_DYN), or a shared
      // object run directly, such as the dynamic loader itself (`ld.so PROGRAM`), which does
      // honour LD_PRELOAD; shared objects are known by their names.
      std::string name = path.substr(path.rfind('/') + 1);
      bool shared_object = header.e_type == ET_DYN && name.find(".so") != std::string::npos;
      is_static = !has_interpreter && !shared_object;
    }
  }
  close(fd);
  return is_static;
}

}  // namespace mmiotrace::cli
