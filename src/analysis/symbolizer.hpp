// Naming a trace's PCs: `library+offset (function)`, from the module markers the trace holds
// (which executable and libraries each process had loaded, and where; see
// preload/module_marks.hpp) and the files' symbols, read with elfutils' libdw (with their debug
// information when installed). Normal context.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mmiotrace::analysis {

class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Takes a marker's text; true when it was a module marker ("module PID LO-HI BASE PATH").
  bool add_marker(std::string_view text);

  // "libfoo.so.1+0x1234 (function)", "program+0x10 (main+0x4)", or the PC in hex when no module
  // of `pid` (or, failing that, of any process: a forked child runs its parent's code) holds it.
  std::string name(int pid, uint64_t pc);

 private:
  struct Module;
  const Module* module_at(int pid, uint64_t pc) const;
  std::map<int, std::vector<std::shared_ptr<Module>>> modules_;  // by pid
  std::map<std::pair<int, uint64_t>, std::string> names_;        // cache: pid, pc
};

}  // namespace mmiotrace::analysis
