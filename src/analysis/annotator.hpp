// `mmiotrace dump --annotate`: a trace's events as kernel text lines, each R and W line ending
// in "  ; NAME", the register (and its fields) the access touches, named by the register maps
// the command was given (register_map_set.hpp), else by the device model the mapping was
// recorded against (its device marker: built-in models only) or that --model chose
// (device_registers.hpp). Normal context.
#pragma once

#include <map>
#include <string>

#include "analysis/register_map_set.hpp"
#include "mmiotrace/device.h"
#include "trace/event.hpp"

namespace mmiotrace::analysis {

class Annotator {
 public:
  // `chosen`: the register maps of the models --model named, by map id; they win over the
  // trace's device markers.
  Annotator(const std::map<int, const mmiotrace_register*>& chosen, RegisterMapSet& register_maps);

  // Appends the event's text lines to `out`: one per 8 bytes of an access, as the text format
  // writes wide accesses, each named.
  void write(const trace::Event& event, std::string& out);

  // The plugins the trace's device markers named, by map id, which were not loaded (a trace
  // never makes mmiotrace load code): their mappings' offsets are named by number.
  const std::map<int, std::string>& unloaded_plugins() const { return unloaded_plugins_; }

 private:
  struct Mapping {
    const mmiotrace_register* registers = nullptr;  // its device's map, or null
    bool chosen = false;                            // by --model
    uint64_t phys = 0;                              // of its first byte: offsets count from it
    bool mapped = false;                            // its MAP has been seen
  };

  std::string name_of(const Mapping* mapping, int map_id, const trace::Event& piece) const;

  std::map<int, Mapping> mappings_;
  std::map<int, std::string> unloaded_plugins_;
  RegisterMapSet& register_maps_;
};

}  // namespace mmiotrace::analysis
