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
#include "trace/trace_reader.hpp"

namespace mmiotrace::analysis {
namespace {

std::string hex_of(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text;
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  return text;
}

std::string file_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

}  // namespace

// One loaded file of one process, with its own libdw session (opened on first use).
struct Symbolizer::Module {
  uint64_t lowest = 0;
  uint64_t highest = 0;
  uint64_t base = 0;
  std::string path;
  std::string build_id;  // as recorded; empty when the trace has none
  bool opened = false;
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;
  std::string found_build_id;  // the file's now, when it is another one: then module is null

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
    if (module == nullptr || build_id.empty()) return;
    const unsigned char* bits = nullptr;
    GElf_Addr where = 0;
    int length = dwfl_module_build_id(module, &bits, &where);
    std::string now =
        length > 0 ? std::string(reinterpret_cast<const char*>(bits), static_cast<size_t>(length))
                   : std::string();
    if (now != build_id) {
      found_build_id = now.empty() ? "none" : hex_of(now);
      module = nullptr;
    }
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

  // "file.c:12" from the line table, or empty.
  std::string source_line(uint64_t pc) {
    if (!opened) open();
    if (module == nullptr) return "";
    Dwfl_Line* line = dwfl_module_getsrc(module, pc);
    if (line == nullptr) return "";
    int number = 0;
    const char* source = dwfl_lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr);
    if (source == nullptr || number <= 0) return "";
    return file_name(source) + ":" + std::to_string(number);
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
  module->build_id = std::move(marker->build_id);
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
    snprintf(text, sizeof(text), "+0x%" PRIx64, pc - module->base);
    name = file_name(module->path) + text;
    std::string function = module->function(pc);
    if (!function.empty()) name += " (" + function + ")";
    std::string source = module->source_line(pc);
    if (!source.empty()) name += " at " + source;
    if (!module->found_build_id.empty() && warned_.insert(module->path).second) {
      warnings_.push_back(trace::escape_bytes(module->path) + ": build ID " +
                          module->found_build_id + ", the trace recorded " +
                          hex_of(module->build_id) +
                          ": another build of the file; its functions are not named");
    }
  }
  names_[{pid, pc}] = name;
  return name;
}

}  // namespace mmiotrace::analysis
