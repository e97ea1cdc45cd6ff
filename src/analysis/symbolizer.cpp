// Naming PCs (see symbolizer.hpp).
#include "analysis/symbolizer.hpp"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "trace/markers.hpp"

namespace mmiotrace::analysis {

// One loaded file of one process, with its own libdw session (opened on first use).
struct Symbolizer::Module {
  uint64_t lowest = 0;
  uint64_t highest = 0;
  uint64_t base = 0;
  std::string path;
  bool opened = false;
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;

  ~Module() {
    if (dwfl) dwfl_end(dwfl);
  }

  // The path comes from the trace, which the traced program can write (mmiotrace_mark()): only a
  // regular file is read, opened so that nothing can block (a FIFO, a terminal) or be written.
  void open() {
    opened = true;
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat status;
    if (fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
      ::close(fd);
      return;
    }
    static char* debuginfo_path = nullptr;
    static const Dwfl_Callbacks callbacks = {dwfl_build_id_find_elf, dwfl_standard_find_debuginfo,
                                             dwfl_offline_section_address, &debuginfo_path};
    dwfl = dwfl_begin(&callbacks);
    if (dwfl == nullptr) {
      ::close(fd);
      return;
    }
    dwfl_report_begin(dwfl);
    module = dwfl_report_elf(dwfl, path.c_str(), path.c_str(), fd, base, false);
    if (module == nullptr) ::close(fd);  // taken by libdwfl only when it succeeds
    dwfl_report_end(dwfl, nullptr, nullptr);
  }

  // "function" or "function+0x12", or empty.
  std::string function(uint64_t pc) {
    if (!opened) open();
    if (module == nullptr) return "";
    GElf_Off offset = 0;
    GElf_Sym symbol;
    const char* name =
        dwfl_module_addrinfo(module, pc, &offset, &symbol, nullptr, nullptr, nullptr);
    if (name == nullptr) return "";
    std::string text = name;
    if (offset != 0) {
      char tail[32];
      snprintf(tail, sizeof(tail), "+0x%" PRIx64, static_cast<uint64_t>(offset));
      text += tail;
    }
    return text;
  }
};

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

bool Symbolizer::add_marker(std::string_view text) {
  std::optional<trace::ModuleMarker> marker = trace::parse_module_marker(text);
  if (!marker) return false;
  auto module = std::make_shared<Module>();
  module->lowest = marker->lowest;
  module->highest = marker->highest;
  module->base = marker->base;
  module->path = std::move(marker->path);
  modules_[marker->pid].push_back(std::move(module));
  return true;
}

const Symbolizer::Module* Symbolizer::module_at(int pid, uint64_t pc) const {
  auto in = [pc](const std::vector<std::shared_ptr<Module>>& modules) -> const Module* {
    for (const auto& module : modules) {
      if (pc >= module->lowest && pc < module->highest) return module.get();
    }
    return nullptr;
  };
  auto own = modules_.find(pid);
  if (own != modules_.end()) {
    if (const Module* module = in(own->second)) return module;
  }
  for (const auto& [other_pid, modules] : modules_) {
    if (const Module* module = in(modules)) return module;
  }
  return nullptr;
}

std::string Symbolizer::name(int pid, uint64_t pc) {
  auto cached = names_.find({pid, pc});
  if (cached != names_.end()) return cached->second;
  char text[64];
  std::string name;
  const Module* found = module_at(pid, pc);
  if (found == nullptr) {
    snprintf(text, sizeof(text), "0x%" PRIx64, pc);
    name = text;
  } else {
    auto* module = const_cast<Module*>(found);
    std::string file = module->path.substr(module->path.rfind('/') + 1);
    snprintf(text, sizeof(text), "+0x%" PRIx64, pc - module->base);
    name = file + text;
    std::string function = module->function(pc);
    if (!function.empty()) name += " (" + function + ")";
  }
  names_[{pid, pc}] = name;
  return name;
}

}  // namespace mmiotrace::analysis
