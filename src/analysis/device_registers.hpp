// The registers of the device model a traced mapping was recorded against (named by its device
// marker, trace/markers.hpp, or chosen with `--model`), and the naming of an offset of the
// mapping by them: one rule for `dump --annotate` and `report`. Normal context.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "mmiotrace/device.h"

namespace mmiotrace::analysis {

// What a trace's device marker names: the register map of a built-in model. A trace never makes
// mmiotrace load code (the traced program can write any marker itself, with mmiotrace_mark()):
// for a plugin's path, nothing is loaded, `plugin` holds the path, and `registers` is a map
// without registers, which names every offset "offset 0xN". Both empty when the spec does not
// parse or names no model mmiotrace knows.
struct TraceDeviceRegisters {
  const mmiotrace_register* registers = nullptr;
  std::string plugin;
};
TraceDeviceRegisters registers_of_trace_device(const std::string& spec);

// The one line (after "mmiotrace: SUBCOMMAND: ") that says which maps were recorded against the
// plugins `plugins` names (by map id), left unloaded, and the options that name their registers:
// "--model MAPID=PATH" each. The paths are shown escaped (devices::printable).
std::string unloaded_plugins_warning(const std::map<int, std::string>& plugins);

// The register of `map` that an access of `width` bytes at `offset` touches: "NAME", or
// "NAME+N" for an offset N bytes into it; "offset 0xOFFSET" when no register of the map is
// there. Empty when `map` is null (nothing to name it by).
std::string device_register_name(const mmiotrace_register* map, uint64_t offset, unsigned width);

}  // namespace mmiotrace::analysis
