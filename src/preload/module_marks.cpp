// Module markers (see module_marks.hpp).
#include "preload/module_marks.hpp"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/architecture.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::preload {
namespace {

struct Module {
  std::string path;
  uintptr_t base;
  uintptr_t lowest;
  uintptr_t highest;
  std::string build_id;
};

// The GNU build ID note among the module's loaded notes (in memory, as the file has it), or
// empty: what `report` compares with the file it later finds at the path.
std::string build_id_of(const struct dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    size_t align = segment.p_align == 8 ? 8 : 4;
    auto round = [align](size_t size) { return (size + align - 1) & ~(align - 1); };
    const auto* notes = reinterpret_cast<const unsigned char*>(info->dlpi_addr + segment.p_vaddr);
    size_t at = 0;
    while (at + sizeof(ElfW(Nhdr)) <= segment.p_memsz) {
      ElfW(Nhdr) header;
      memcpy(&header, notes + at, sizeof(header));
      size_t name_at = at + sizeof(header);
      size_t desc_at = name_at + round(header.n_namesz);
      size_t next = desc_at + round(header.n_descsz);
      if (next > segment.p_memsz || next <= at) break;
      if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 &&
          memcmp(notes + name_at, "GNU", 4) == 0 && header.n_descsz > 0 &&
          header.n_descsz <= trace::kMaxBuildIdBytes) {
        return std::string(reinterpret_cast<const char*>(notes + desc_at), header.n_descsz);
      }
      at = next;
    }
  }
  return "";
}

std::string executable_path() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string();
}

// This library's own load base: its code is not the program's, and is left out.
uintptr_t own_base() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&own_base), &info) == 0) return 0;
  return reinterpret_cast<uintptr_t>(info.dli_fbase);
}

int collect(struct dl_phdr_info* info, size_t, void* data) {
  auto& modules = *static_cast<std::vector<Module>*>(data);
  uintptr_t lowest = UINTPTR_MAX;
  uintptr_t highest = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD) continue;
    uintptr_t begin = info->dlpi_addr + segment.p_vaddr;
    lowest = std::min(lowest, begin);
    highest = std::max(highest, begin + segment.p_memsz);
  }
  if (lowest >= highest) return 0;
  std::string path = info->dlpi_name ? info->dlpi_name : "";
  if (path.empty() && modules.empty()) path = executable_path();  // the first is the program
  if (path.find('/') == std::string::npos) return 0;              // no file: the vDSO, for one
  modules.push_back({path, info->dlpi_addr, lowest, highest, build_id_of(info)});
  return 0;
}

}  // namespace

void ModuleMarks::mark_new_modules(recorder::Recorder& recorder) {
  pid_t pid = getpid();
  if (pid != pid_) {
    // A process new to the trace: first, which instructions its PCs are.
    pid_ = pid;
    marked_.clear();
    std::string line =
        trace::format_architecture_marker({static_cast<int>(pid), std::string(kThisArchitecture)});
    recorder.mark(line.data(), line.size());
  }
  std::vector<Module> modules;
  dl_iterate_phdr(&collect, &modules);
  uintptr_t own = own_base();
  for (const Module& module : modules) {
    if (module.base == own && own != 0) continue;
    if (!marked_.insert({module.base, module.path}).second) continue;
    std::string line =
        trace::format_module_marker({static_cast<int>(pid), module.lowest, module.highest,
                                     module.base, module.path, module.build_id});
    recorder.mark(line.data(), line.size());
  }
}

}  // namespace mmiotrace::preload
