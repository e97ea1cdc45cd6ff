// Naming PCs (see symbolizer.hpp).
#include "analysis/symbolizer.hpp"

#include <elfutils/libdwfl.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

  void open() {
    opened = true;
    static char* debuginfo_path = nullptr;
    static const Dwfl_Callbacks callbacks = {
        dwfl_build_id_find_elf, dwfl_standard_find_debuginfo, dwfl_offline_section_address,
        &debuginfo_path};
    dwfl = dwfl_begin(&callbacks);
    if (dwfl == nullptr) return;
    dwfl_report_begin(dwfl);
    module = dwfl_report_elf(dwfl, path.c_str(), path.c_str(), -1, base, false);
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
  if (text.rfind("module ", 0) != 0) return false;
  std::string line(text);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  int pid = 0;
  unsigned long long lowest = 0, highest = 0, base = 0;
  int path_at = 0;
  if (sscanf(line.c_str(), "module %d 0x%llx-0x%llx 0x%llx %n", &pid, &lowest, &highest, &base,
             &path_at) != 4 ||
      path_at == 0 || static_cast<size_t>(path_at) >= line.size()) {
    return false;
  }
  auto module = std::make_shared<Module>();
  module->lowest = lowest;
  module->highest = highest;
  module->base = base;
  module->path = line.substr(static_cast<size_t>(path_at));
  modules_[pid].push_back(std::move(module));
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
