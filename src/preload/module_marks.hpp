// Module markers: which executable and libraries a traced process has loaded, and where, so
// that a trace's PCs can be named later (`mmiotrace report`: library+offset (function)). Written
// as MARK lines when a process starts a traced mapping, once per module and process:
//   MARK <time> module <pid> <lowest>-<highest> <load base> [build-id=<hex>] <path>
// (the module's PT_LOAD segments span [lowest, highest); an address A in it is A - base in
// the file's own addresses; the build ID, read from the loaded notes, lets `report` tell
// whether the file at <path> is still the one that ran). Before a process's first module, its
// architecture: MARK <time> arch <pid> <name> (trace/markers.hpp). Normal context; the caller
// holds the shim's lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "recorder/recorder.hpp"

namespace mmiotrace::preload {

class ModuleMarks {
 public:
  // Marks the modules loaded now that this process has not marked yet (and, the first time, its
  // architecture).
  void mark_new_modules(recorder::Recorder& recorder);

 private:
  pid_t pid_ = 0;  // whose modules `marked_` are (a forked child starts over)
  std::set<std::pair<uintptr_t, std::string>> marked_;  // load base, path
};

}  // namespace mmiotrace::preload
