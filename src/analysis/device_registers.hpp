// The registers of the device model a traced mapping was recorded against (named by its device
// marker, trace/markers.hpp, or chosen with `dump --model`), and the naming of an offset of the
// mapping by them: one rule for `dump --annotate` and `report`. Normal context.
#pragma once

#include <cstdint>
#include <string>

#include "mmiotrace/device.h"

namespace mmiotrace::analysis {

// The register map of a device made as SPEC (MODEL[:ARGS]@PATH) says, or null when SPEC does
// not parse or names no model mmiotrace knows.
const mmiotrace_register* registers_of_device(const std::string& spec);

// The register of `map` that an access of `width` bytes at `offset` touches: "NAME", or
// "NAME+N" for an offset N bytes into it; "offset 0xOFFSET" when no register of the map is
// there. Empty when `map` is null (nothing to name it by).
std::string device_register_name(const mmiotrace_register* map, uint64_t offset, unsigned width);

}  // namespace mmiotrace::analysis
