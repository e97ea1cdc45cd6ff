// The device models mmiotrace knows: the built-in ones and plugins loaded by path; the
// command-line form of a device (MODEL[:ARGS]@PATH); and naming an access by the register it
// falls in. Normal context only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mmiotrace/device.h"

namespace mmiotrace::devices {

// `text` fit for a one-line message: control characters and bytes outside ASCII are written as
// \n, \t or \xNN (a user's argument may hold anything).
std::string printable(std::string_view text);

// regfile, nvme, uart16550, in that order.
std::vector<const mmiotrace_device_model*> builtin_models();

// Whether `name` is a plugin's path rather than a built-in model's name: it contains '/' or
// ends in ".so".
bool names_plugin(const std::string& name);

// A built-in model by name; nullptr for anything else, a plugin's path included (nothing is
// loaded): what a trace may name (docs/devices.md).
const mmiotrace_device_model* find_builtin_model(const std::string& name);

// A built-in model by name, or a plugin: a name that contains '/' or ends in ".so" is
// dlopen()ed (RTLD_NOW | RTLD_LOCAL, never closed) and its mmiotrace_device_model() called; the
// table must have this mmiotrace's ABI version and create, destroy, size, read, write and reset.
// nullptr with a one-line reason in `error` otherwise. Only for a name a person gave on the
// command line or in the environment of a recording: a trace never chooses code to load.
const mmiotrace_device_model* find_model(const std::string& name_or_path, std::string* error);

// `MODEL[:ARGS]@PATH`, as given to `--device`.
struct DeviceSpec {
  std::string model;      // a built-in name or a plugin's path
  std::string arguments;  // ARGS, maybe empty
  std::string path;       // absolute
};

// MODEL runs to the first ':' or '@', ARGS from that ':' to the last '@', PATH after the last
// '@' (so ARGS may contain '@', PATH may not). nullopt with a one-line reason in `error` when
// the text is not of that form or PATH is not absolute. Does not look the model up.
std::optional<DeviceSpec> parse_device_spec(const std::string& text, std::string* error);

// The register of `map` (ended by a NULL name; may be nullptr) that an access of `width` bytes
// at `offset` touches: the first one overlapping [offset, offset + width). nullptr if none.
const mmiotrace_register* register_at(const mmiotrace_register* map, uint64_t offset,
                                      uint32_t width);
// The same in the model's own map (nvme: dstrd=0; uart16550: shift=0).
const mmiotrace_register* register_at(const mmiotrace_device_model& model, uint64_t offset,
                                      uint32_t width);

// The register map of a device that `model` makes from `arguments`: model.registers, except
// for the built-in models whose offsets depend on an argument (nvme's dstrd=, uart16550's
// shift=). Arguments that do not parse give model.registers.
const mmiotrace_register* register_map(const mmiotrace_device_model& model,
                                       const std::string& arguments);

}  // namespace mmiotrace::devices
