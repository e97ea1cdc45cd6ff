// The catalog of device models: built-ins, plugins by path, the --device form, register names.
#include "devices/model_catalog.hpp"

#include <dlfcn.h>

#include "devices/builtin_models.hpp"

namespace mmiotrace::devices {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const mmiotrace_device_model* fail(std::string* error, const std::string& message) {
  if (error) *error = printable(message);
  return nullptr;
}

// The first required function the table lacks, or nullptr.
const char* missing_function(const mmiotrace_device_model& model) {
  if (!model.create) return "create";
  if (!model.destroy) return "destroy";
  if (!model.size) return "size";
  if (!model.read) return "read";
  if (!model.write) return "write";
  if (!model.reset) return "reset";
  return nullptr;
}

const mmiotrace_device_model* load_plugin(const std::string& path, std::string* error) {
  std::string quoted = "'" + path + "'";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return fail(error, "cannot load plugin " + quoted + ": " + dlerror());
  void* symbol = dlsym(handle, MMIOTRACE_DEVICE_MODEL_SYMBOL);
  if (!symbol) {
    dlclose(handle);
    return fail(error, "plugin " + quoted +
                           " does not export " MMIOTRACE_DEVICE_MODEL_SYMBOL
                           "() (see docs/devices.md)");
  }
  const mmiotrace_device_model* model = reinterpret_cast<mmiotrace_device_model_function>(symbol)();
  std::string problem;
  if (!model) {
    problem = "its " MMIOTRACE_DEVICE_MODEL_SYMBOL "() returned NULL";
  } else if (model->abi_version != MMIOTRACE_DEVICE_ABI_VERSION) {
    problem = "its model has device ABI version " + std::to_string(model->abi_version) +
              ", this mmiotrace implements version " + std::to_string(MMIOTRACE_DEVICE_ABI_VERSION);
  } else if (!model->name) {
    problem = "its model has no name";
  } else if (const char* function = missing_function(*model)) {
    problem = "its model '" + std::string(model->name) + "' has no " + function +
              " function (create, destroy, size, read, write and reset are required)";
  }
  if (!problem.empty()) {
    dlclose(handle);
    return fail(error, "plugin " + quoted + ": " + problem);
  }
  return model;  // the handle stays open for as long as the process uses the model
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      static const char kDigits[] = "0123456789abcdef";
      out += "\\x";
      out += kDigits[byte >> 4];
      out += kDigits[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<const mmiotrace_device_model*> builtin_models() {
  return {&kRegfileModel, &kNvmeModel, &kUart16550Model};
}

bool names_plugin(const std::string& name) {
  return name.find('/') != std::string::npos || ends_with(name, ".so");
}

const mmiotrace_device_model* find_builtin_model(const std::string& name) {
  for (const mmiotrace_device_model* model : builtin_models()) {
    if (name == model->name) return model;
  }
  return nullptr;
}

const mmiotrace_device_model* find_model(const std::string& name_or_path, std::string* error) {
  if (const mmiotrace_device_model* model = find_builtin_model(name_or_path)) return model;
  if (names_plugin(name_or_path)) return load_plugin(name_or_path, error);
  std::string names;
  for (const mmiotrace_device_model* model : builtin_models())
    names += (names.empty() ? "" : ", ") + std::string(model->name);
  return fail(error, "no device model '" + name_or_path + "' (built in: " + names +
                         "; or the path of a plugin .so)");
}

std::optional<DeviceSpec> parse_device_spec(const std::string& text, std::string* error) {
  auto reject = [&](const std::string& why) -> std::optional<DeviceSpec> {
    if (error) {
      *error = printable("device '" + text + "': " + why +
                         " (expected MODEL[:ARGS]@PATH, e.g. nvme:delay_ms=10@/tmp/nvme-bar0)");
    }
    return std::nullopt;
  };
  size_t model_end = text.find_first_of(":@");
  size_t at = text.rfind('@');
  if (at == std::string::npos) return reject("no @PATH");
  DeviceSpec spec;
  spec.model = text.substr(0, model_end);
  if (spec.model.empty()) return reject("no MODEL before '" + text.substr(model_end, 1) + "'");
  if (text[model_end] == ':') {
    spec.arguments = text.substr(model_end + 1, at - model_end - 1);
  } else if (model_end != at) {
    return reject("'@' after the PATH's '@'; ARGS go after ':'");
  }
  spec.path = text.substr(at + 1);
  if (spec.path.empty()) return reject("no PATH after '@'");
  if (spec.path[0] != '/') return reject("the path '" + spec.path + "' is not absolute");
  return spec;
}

const mmiotrace_register* register_at(const mmiotrace_register* map, uint64_t offset,
                                      uint32_t width) {
  if (!map) return nullptr;
  uint64_t end = offset + (width > 0 ? width : 1);
  for (const mmiotrace_register* entry = map; entry->name; ++entry) {
    if (entry->offset < end && offset < entry->offset + entry->width) return entry;
  }
  return nullptr;
}

const mmiotrace_register* register_at(const mmiotrace_device_model& model, uint64_t offset,
                                      uint32_t width) {
  return register_at(model.registers, offset, width);
}

const mmiotrace_register* register_map(const mmiotrace_device_model& model,
                                       const std::string& arguments) {
  return builtin_register_map(model, arguments);
}

}  // namespace mmiotrace::devices
