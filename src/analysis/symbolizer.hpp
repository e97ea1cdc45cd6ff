// Naming a trace's PCs: `library+offset (function) at file:line`, from the module markers the
// trace holds (which executable and libraries each process had loaded, where, and their build
// IDs; see preload/module_marks.hpp) and the files' symbols and line tables, read with elfutils'
// libdw (with their debug information when installed). A file whose build ID is not the one
// recorded is another build: its symbols would name the wrong functions, so only library+offset
// is given, with a warning. Normal context.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
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

  // "libfoo.so.1+0x1234 (function)", "program+0x10 (main+0x4) at main.c:12" (the source file's
  // name and line when the file has DWARF line information), or the PC in hex when no module of
  // `pid` (or, failing that, of any process: a forked child runs its parent's code) holds it.
  std::string name(int pid, uint64_t pc);

  // One line for each file found to be another build than the one recorded ("PATH: build ID
  // ..., the trace recorded ...; its functions are not named"), in the order found by name().
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Module;
  const Module* module_at(int pid, uint64_t pc) const;
  std::map<int, std::vector<std::shared_ptr<Module>>> modules_;  // by pid
  std::map<std::pair<int, uint64_t>, std::string> names_;        // cache: pid, pc
  std::vector<std::string> warnings_;
  std::set<std::string> warned_;  // the paths warnings_ names
};

}  // namespace mmiotrace::analysis
