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

namespace {

// The architectures a program on this machine is most likely built for, by ELF machine number.
std::string machine_name(uint16_t machine, unsigned char elf_class) {
  bool wide = elf_class == ELFCLASS64;
  switch (machine) {
    case EM_386:
      return "32-bit x86 (i386)";
    case EM_X86_64:
      return wide ? "x86-64" : "x32";
    case EM_ARM:
      return "32-bit ARM";
    case EM_AARCH64:
      return wide ? "AArch64" : "AArch64 ILP32";
    case EM_RISCV:
      return wide ? "64-bit RISC-V" : "32-bit RISC-V";
    case EM_PPC:
      return "32-bit PowerPC";
    case EM_PPC64:
      return "64-bit PowerPC";
    case EM_S390:
      return "s390";
    case EM_MIPS:
      return "MIPS";
    case EM_LOONGARCH:
      return "LoongArch";
    case EM_SPARCV9:
      return "SPARC";
    default:
      return "ELF machine " + std::to_string(machine);
  }
}

bool has_interpreter(int fd, const Elf64_Ehdr& header) {
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 || header.e_phnum >= 4096) {
    return false;
  }
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  auto size = static_cast<ssize_t>(segments.size() * sizeof(Elf64_Phdr));
  if (pread(fd, segments.data(), static_cast<size_t>(size), static_cast<off_t>(header.e_phoff)) !=
      size) {
    return false;
  }
  for (const Elf64_Phdr& segment : segments)
    if (segment.p_type == PT_INTERP) return true;
  return false;
}

}  // namespace

ProgramKind program_kind(const std::string& path) {
  ProgramKind kind;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kind;
  unsigned char ident[EI_NIDENT + 4];  // e_ident, e_type and e_machine, the same in both classes
  if (pread(fd, ident, sizeof(ident), 0) != static_cast<ssize_t>(sizeof(ident)) ||
      memcmp(ident, ELFMAG, SELFMAG) != 0) {
    close(fd);
    return kind;
  }
  unsigned char elf_class = ident[EI_CLASS];
  bool big_endian = ident[EI_DATA] == ELFDATA2MSB;
  const unsigned char* field = ident + EI_NIDENT + 2;  // e_machine, in the file's byte order
  auto machine =
      static_cast<uint16_t>(big_endian ? (field[0] << 8) | field[1] : field[0] | (field[1] << 8));
  kind.name = machine_name(machine, elf_class);
  bool wide_little = elf_class == ELFCLASS64 && ident[EI_DATA] == ELFDATA2LSB;
  if (machine == EM_X86_64 && wide_little) {
    kind.machine = ProgramMachine::Native;
  } else if (machine == EM_AARCH64 && wide_little) {
    kind.machine = ProgramMachine::Aarch64;
  } else if (machine == EM_AARCH64 && elf_class == ELFCLASS64 && big_endian) {
    kind.machine = ProgramMachine::Aarch64BigEndian;
    kind.name = "big-endian AArch64 (aarch64_be)";
  } else {
    kind.machine = ProgramMachine::Other;
  }
  Elf64_Ehdr header;
  if (wide_little &&
      pread(fd, &header, sizeof(header), 0) == static_cast<ssize_t>(sizeof(header))) {
    kind.dynamic = has_interpreter(fd, header);
  }
  close(fd);
  return kind;
}

}  // namespace mmiotrace::cli
