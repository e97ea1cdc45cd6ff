// Module markers (see module_marks.hpp).
#include "preload/module_marks.hpp"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "trace/markers.hpp"

namespace mmiotrace::preload {
namespace {

struct Module {
  std::string path;
  uintptr_t base;
  uintptr_t lowest;
  uintptr_t highest;
};

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
  modules.push_back({path, info->dlpi_addr, lowest, highest});
  return 0;
}

}  // namespace

void ModuleMarks::mark_new_modules(recorder::Recorder& recorder) {
  pid_t pid = getpid();
  if (pid != pid_) {
    pid_ = pid;
    marked_.clear();
  }
  std::vector<Module> modules;
  dl_iterate_phdr(&collect, &modules);
  uintptr_t own = own_base();
  for (const Module& module : modules) {
    if (module.base == own && own != 0) continue;
    if (!marked_.insert({module.base, module.path}).second) continue;
    std::string line = trace::format_module_marker(
        {static_cast<int>(pid), module.lowest, module.highest, module.base, module.path});
    recorder.mark(line.data(), line.size());
  }
}

}  // namespace mmiotrace::preload
