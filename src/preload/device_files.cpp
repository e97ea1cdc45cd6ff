// Virtual device files (see device_files.hpp).
#include "preload/device_files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/diagnostics.hpp"
#include "devices/model_catalog.hpp"
#include "preload/environment.hpp"

namespace mmiotrace::preload {
namespace {

constexpr const char* kMemfdPrefix = "mmiotrace-device-";

// The major number stat() reports for every virtual device: 240-254 are reserved for local
// and experimental use.
constexpr unsigned kDeviceMajor = 240;

std::string fd_target(int fd) {
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t length = readlink(link, target, sizeof(target) - 1);
  return length > 0 ? std::string(target, static_cast<size_t>(length)) : std::string();
}

void report_device(const std::string& spec, const std::string& why) {
  Diagnostic line;
  line.text("device ").text(spec).text(": ").text(why).text("; it is left out");
  line.emit();
}

backend::ReplayHeader* map_replay_script() {
  const char* text = getenv(kReplayFdVariable);
  if (text == nullptr) return nullptr;
  int fd = atoi(text);
  struct stat status;
  if (fstat(fd, &status) != 0 ||
      static_cast<size_t>(status.st_size) < sizeof(backend::ReplayHeader)) {
    return nullptr;
  }
  void* memory =
      mmap(nullptr, static_cast<size_t>(status.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) return nullptr;
  auto* script = static_cast<backend::ReplayHeader*>(memory);
  if (memcmp(script->magic, backend::kReplayMagic, sizeof(script->magic)) != 0 ||
      script->version != backend::kReplayVersion) {
    munmap(memory, static_cast<size_t>(status.st_size));
    return nullptr;
  }
  return script;
}

}  // namespace

std::string normalized_path(int directory_fd, const char* path) {
  std::string whole;
  if (path[0] == '/') {
    whole = path;
  } else {
    std::string base;
    if (directory_fd == AT_FDCWD) {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) base = cwd;
    } else {
      base = fd_target(directory_fd);
    }
    whole = base + "/" + path;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= whole.size()) {
    size_t end = whole.find('/', start);
    if (end == std::string::npos) end = whole.size();
    std::string part = whole.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string normal;
  for (const std::string& part : parts)
    normal += "/" + part;
  return normal.empty() ? "/" : normal;
}

DeviceFiles DeviceFiles::from_environment() {
  DeviceFiles devices;
  const char* list = getenv(kDevicesVariable);
  if (list == nullptr || *list == '\0') return devices;
  backend::ReplayHeader* script = nullptr;
  bool script_mapped = false;
  std::string lines = list;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    std::string text = lines.substr(start, end - start);
    start = end + 1;
    if (text.empty()) continue;
    std::string error;
    std::optional<devices::DeviceSpec> spec = devices::parse_device_spec(text, &error);
    if (!spec) {
      report_device(text, error);
      continue;
    }
    auto file = std::make_unique<DeviceFile>();
    file->index = devices.files_.size();
    file->path = normalized_path(AT_FDCWD, spec->path.c_str());
    file->model = spec->model;
    file->arguments = spec->arguments;
    if (spec->model == "replay") {
      if (!script_mapped) {
        script = map_replay_script();
        script_mapped = true;
      }
      if (script == nullptr) {
        report_device(text, "the replay script of `mmiotrace replay` cannot be mapped");
        continue;
      }
      long map_id = strtol(spec->arguments.c_str(), nullptr, 10);
      backend::ReplayMap* map = nullptr;
      for (uint32_t i = 0; i < script->map_count; ++i) {
        if (script->maps[i].map_id == map_id) map = &script->maps[i];
      }
      if (map == nullptr) {
        report_device(text, "the trace has no map " + spec->arguments);
        continue;
      }
      // Several recorded mappings of one path: one device file serves them in turn.
      DeviceFile* same_path = nullptr;
      for (auto& existing : devices.files_) {
        if (existing->script != nullptr && existing->path == file->path) same_path = existing.get();
      }
      if (same_path != nullptr) {
        same_path->replay_maps.push_back(map);
        continue;
      }
      file->script = script;
      file->replay_maps.push_back(map);
    } else {
      file->model_table = devices::find_model(spec->model, &error);
      if (file->model_table == nullptr) {
        report_device(text, error);
        continue;
      }
    }
    devices.files_.push_back(std::move(file));
  }
  devices.replay_windows_opened_.assign(devices.files_.size(), 0);
  return devices;
}

DeviceFiles::~DeviceFiles() {
  for (auto& file : files_) {
    if (file->instance && file->instance->device) {
      file->instance->model->destroy(file->instance->device);
    }
  }
}

const DeviceFile* DeviceFiles::find_path(int directory_fd, const char* path) const {
  if (files_.empty() || path == nullptr || *path == '\0') return nullptr;
  std::string normal = normalized_path(directory_fd, path);
  for (const auto& file : files_) {
    if ((file->path == normal && !file->pci_bar) ||
        (!file->uio_path.empty() && file->uio_path == normal)) {
      return file.get();
    }
  }
  return nullptr;
}

const DeviceFile* DeviceFiles::find_descriptor(int fd) const {
  if (files_.empty() || fd < 0) return nullptr;
  std::string target = fd_target(fd);
  std::string prefix = std::string("/memfd:") + kMemfdPrefix;
  if (target.rfind(prefix, 0) != 0) return nullptr;
  size_t index = strtoul(target.c_str() + prefix.size(), nullptr, 10);
  return index < files_.size() ? files_[index].get() : nullptr;
}

bool DeviceFiles::add_pci_bar(const std::string& resource_path, const std::string& model,
                              const std::string& arguments, uint64_t phys_base, uint64_t bar_size,
                              const std::string& uio_path) {
  auto file = std::make_unique<DeviceFile>();
  file->index = files_.size();
  file->path = resource_path;
  file->model = model;
  file->arguments = arguments;
  file->pci_bar = true;
  file->phys_base = phys_base;
  file->bar_size = bar_size;
  file->uio_path = uio_path;
  std::string error;
  file->model_table = devices::find_model(model, &error);
  if (file->model_table == nullptr) {
    report_device(model + "@" + resource_path, error);
    return false;
  }
  files_.push_back(std::move(file));
  replay_windows_opened_.assign(files_.size(), 0);
  return true;
}

bool DeviceFiles::adopt_pci_bar(const std::string& resource_path, uint64_t phys_base,
                                uint64_t bar_size, const std::string& uio_path) {
  for (auto& file : files_) {
    if (file->script == nullptr || file->path != resource_path) continue;
    file->pci_bar = true;
    file->phys_base = phys_base;
    file->bar_size = bar_size;
    file->uio_path = uio_path;
    return true;
  }
  return false;
}

void DeviceFiles::add_physical_memory(const std::string& path) {
  auto file = std::make_unique<DeviceFile>();
  file->index = files_.size();
  file->path = path;
  file->model = "physical-memory";
  file->physical_memory = true;
  files_.push_back(std::move(file));
  replay_windows_opened_.assign(files_.size(), 0);
}

void DeviceFiles::add_vfio_node(const std::string& path, int group) {
  auto file = std::make_unique<DeviceFile>();
  file->index = files_.size();
  file->path = path;
  file->model = "vfio";
  file->vfio_node = true;
  file->vfio_group = group;
  files_.push_back(std::move(file));
  replay_windows_opened_.assign(files_.size(), 0);
}

const DeviceFile* DeviceFiles::pci_bar_at(uint64_t address, uint64_t length) const {
  for (const auto& file : files_) {
    if (file->pci_bar && address >= file->phys_base && length <= file->bar_size &&
        address - file->phys_base <= file->bar_size - length) {
      return file.get();
    }
  }
  return nullptr;
}

bool DeviceFiles::ready(const DeviceFile& file) const {
  if (file.script != nullptr || file.physical_memory || file.vfio_node) return true;
  std::call_once(file.made, [&file] {
    char why[256] = "";
    void* device = file.model_table->create(file.arguments.c_str(), why, sizeof(why));
    if (device == nullptr) {
      report_device(file.model + "@" + file.path, why[0] ? why : "the model cannot make it");
      return;
    }
    auto instance = std::make_unique<backend::DeviceInstance>();
    instance->model = file.model_table;
    instance->device = device;
    instance->size = file.model_table->size(device);
    file.size = file.pci_bar ? file.bar_size : instance->size;
    file.instance = std::move(instance);
  });
  return file.instance != nullptr;
}

int DeviceFiles::open(const DeviceFile& file, int flags) const {
  if (!ready(file)) {
    errno = ENXIO;
    return -1;
  }
  if ((flags & O_CREAT) && (flags & O_EXCL)) {
    errno = EEXIST;
    return -1;
  }
  if (flags & O_DIRECTORY) {
    errno = ENOTDIR;
    return -1;
  }
  std::string name = kMemfdPrefix + std::to_string(file.index);
  return memfd_create(name.c_str(), (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
}

void DeviceFiles::describe(const DeviceFile& file, struct stat* status) const {
  memset(status, 0, sizeof(*status));
  status->st_dev = makedev(0, 5);  // devtmpfs's, as for files in /dev
  status->st_ino = 0x6d6d696f0000 + file.index;
  status->st_mode = S_IFCHR | 0660;
  status->st_nlink = 1;
  status->st_uid = getuid();
  status->st_gid = getgid();
  status->st_rdev = makedev(kDeviceMajor, static_cast<unsigned>(file.index));
  status->st_blksize = 4096;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  status->st_atim = status->st_mtim = status->st_ctim = now;
}

DeviceWindow DeviceFiles::open_window(const DeviceFile& file) {
  DeviceWindow window;
  window.file = &file;
  if (file.script != nullptr) {
    size_t& opened = replay_windows_opened_[file.index];
    if (opened < file.replay_maps.size()) window.replay_map = file.replay_maps[opened++];
  }
  return window;
}

std::shared_ptr<backend::Backend> DeviceFiles::make_backend(const DeviceWindow& window,
                                                            uint64_t offset) const {
  if (window.file->instance) {
    return std::make_shared<backend::ModelBackend>(*window.file->instance, offset);
  }
  return std::make_shared<backend::ReplayBackend>(*window.file->script, *window.replay_map, offset);
}

uint64_t DeviceFiles::physical_address(const DeviceWindow& window, uint64_t offset) const {
  if (window.replay_map != nullptr) return window.replay_map->phys + offset;
  return window.file->phys_base + offset;
}

void DeviceFiles::release_after_fork() {
  for (auto& file : files_) {
    if (file->instance) file->instance->busy.store(false);
  }
}

}  // namespace mmiotrace::preload
