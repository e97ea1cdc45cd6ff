// The shim library `mmiotrace record` preloads: where it is, and whether it is of this command's
// version (see shim_library.hpp).
#include "cli/shim_library.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/cli_error.hpp"
#include "cli/installation.hpp"
#include "preload/environment.hpp"

namespace mmiotrace::cli {
namespace {

// The note version_note.S writes: its name (with the NUL the note's size counts) and type.
constexpr char kNoteOwner[] = "mmiotrace";
constexpr uint32_t kVersionNoteType = 1;
// Notes are small; a larger segment is not read.
constexpr uint64_t kMaxNotesBytes = 64 << 10;

std::string directory_of_command() {
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string command(path, static_cast<size_t>(length));
  return command.substr(0, command.rfind('/'));
}

std::string canonical_or_same(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

// The version note among the notes of one PT_NOTE segment.
std::optional<std::string> version_in_notes(const std::vector<char>& notes) {
  auto aligned = [](uint64_t size) { return (size + 3) & ~uint64_t{3}; };
  uint64_t at = 0;
  while (at + sizeof(Elf64_Nhdr) <= notes.size()) {
    Elf64_Nhdr header;
    memcpy(&header, notes.data() + at, sizeof(header));
    uint64_t name_at = at + sizeof(header);
    uint64_t description_at = name_at + aligned(header.n_namesz);
    uint64_t end = description_at + aligned(header.n_descsz);
    if (end > notes.size()) break;
    if (header.n_type == kVersionNoteType && header.n_namesz == sizeof(kNoteOwner) &&
        memcmp(notes.data() + name_at, kNoteOwner, sizeof(kNoteOwner)) == 0) {
      const char* version = notes.data() + description_at;
      return std::string(version, strnlen(version, header.n_descsz));
    }
    at = end;
  }
  return std::nullopt;
}

std::optional<std::string> version_in_file(int fd, uint16_t machine) {
  Elf64_Ehdr header;
  if (pread(fd, &header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header)) ||
      memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_machine != machine ||
      header.e_type != ET_DYN || header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
      header.e_phnum >= 4096) {
    return std::nullopt;
  }
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  auto size = static_cast<ssize_t>(segments.size() * sizeof(Elf64_Phdr));
  if (pread(fd, segments.data(), static_cast<size_t>(size), static_cast<off_t>(header.e_phoff)) !=
      size) {
    return std::nullopt;
  }
  for (const Elf64_Phdr& segment : segments) {
    if (segment.p_type != PT_NOTE || segment.p_filesz > kMaxNotesBytes) continue;
    std::vector<char> notes(segment.p_filesz);
    if (pread(fd, notes.data(), notes.size(), static_cast<off_t>(segment.p_offset)) !=
        static_cast<ssize_t>(notes.size())) {
      continue;
    }
    if (std::optional<std::string> version = version_in_notes(notes)) return version;
  }
  return std::nullopt;
}

// What a library is for: the one of this machine, or the AArch64 one run under qemu-aarch64.
struct LibraryKind {
  const char* description;        // for messages
  uint16_t machine;               // ELF machine
  const char* override_variable;  // the environment variable that names it
  const char* remedy;             // what to do when it is missing and not named, for the
                                  // command of the build folder
  const char* installed_remedy;   // ... for an installed command
  const char* build_directory;    // where the command of the build folder finds it
  // Installed: in the command's libdir, or in the AArch64 multiarch libdir beside it.
  bool in_aarch64_libdir;
};

constexpr LibraryKind kNativeLibrary = {"the shim library",
                                        EM_X86_64,
                                        preload::kLibraryOverrideVariable,
                                        "rebuild it",
                                        "reinstall mmiotrace",
                                        kBuildLibraryDirectory,
                                        false};
constexpr LibraryKind kArm64Library = {"the AArch64 shim library",
                                       EM_AARCH64,
                                       preload::kArm64LibraryOverrideVariable,
                                       "build it with scripts/build --arch arm64 (scripts/setup "
                                       "installs the cross toolchain)",
                                       "install the package mmiotrace-shim-arm64 (scripts/package "
                                       "builds it beside mmiotrace's)",
                                       kArm64BuildLibraryDirectory,
                                       true};

// `path` when it is a library of this command's version; else a CliError that says what is
// wrong with it and, `overridden` by its environment variable or not, what to do (as the
// command is `installed` or the build folder's).
std::string checked(const std::string& path, bool overridden, bool installed,
                    const LibraryKind& kind) {
  std::string library = kind.description + std::string(" ") + path;
  if (overridden) library += std::string(" that ") + kind.override_variable + " names";
  std::string wanted = std::string("; this mmiotrace ") + kVersion + " needs " + kShimLibraryName +
                       " of the same version: ";
  wanted += overridden ? std::string("point ") + kind.override_variable + " at it, or unset it"
                       : std::string(installed ? kind.installed_remedy : kind.remedy) +
                             ", or set " + kind.override_variable + " to its path";
  if (access(path.c_str(), R_OK) != 0) {
    throw CliError(kExitCannotTrace, "cannot read " + library + ": " + strerror(errno) + wanted);
  }
  std::optional<std::string> version = shim_library_version(path, kind.machine);
  if (!version) throw CliError(kExitCannotTrace, library + " states no mmiotrace version" + wanted);
  if (*version != kVersion) {
    throw CliError(kExitCannotTrace, library + " is of mmiotrace " + *version + wanted);
  }
  return canonical_or_same(path);
}

}  // namespace

std::optional<std::string> shim_library_version(const std::string& path, uint16_t machine) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> version = version_in_file(fd, machine);
  close(fd);
  return version;
}

namespace {

// The library of `kind`: the one its variable names, else the build folder's for the command of
// the build folder, else the installed one.
std::string find_library(const LibraryKind& kind) {
  if (const char* override_path = getenv(kind.override_variable)) {
    return checked(override_path, true, true, kind);
  }
  std::string directory = directory_of_command();
  if (directory == canonical_or_same(kBuildCommandDirectory)) {
    return checked(std::string(kind.build_directory) + "/" + kShimLibraryName, false, false, kind);
  }
  std::filesystem::path libdir =
      (std::filesystem::path(directory) / kLibraryDirectoryFromCommand).lexically_normal();
  if (kind.in_aarch64_libdir) {
    // Debian's multiarch libdirs: lib/x86_64-linux-gnu beside lib/aarch64-linux-gnu; otherwise
    // a folder aarch64-linux-gnu in the libdir.
    if (libdir.filename().empty()) libdir = libdir.parent_path();
    libdir = libdir.filename() == "x86_64-linux-gnu" ? libdir.parent_path() / "aarch64-linux-gnu"
                                                     : libdir / "aarch64-linux-gnu";
  }
  return checked((libdir / kShimLibraryName).string(), false, true, kind);
}

}  // namespace

std::string find_shim_library() {
  return find_library(kNativeLibrary);
}

std::string find_arm64_shim_library() {
  return find_library(kArm64Library);
}

}  // namespace mmiotrace::cli
