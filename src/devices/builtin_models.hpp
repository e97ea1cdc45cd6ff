// The built-in device models' tables (regfile, nvme, uart16550): argument parsing and the
// making of their state, in normal context. The register logic is in regfile.cpp, nvme.cpp and
// uart16550.cpp.
#pragma once

#include <string>

#include "mmiotrace/device.h"

namespace mmiotrace::devices {

extern const mmiotrace_device_model kRegfileModel;
extern const mmiotrace_device_model kNvmeModel;
extern const mmiotrace_device_model kUart16550Model;

// The register map of a device that `model` makes from `arguments`: the model's own map, except
// where a built-in model's offsets depend on its arguments (nvme's dstrd=, uart16550's shift=).
// Arguments that do not parse give the model's own map.
const mmiotrace_register* builtin_register_map(const mmiotrace_device_model& model,
                                               const std::string& arguments);

}  // namespace mmiotrace::devices
