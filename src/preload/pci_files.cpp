// The virtual PCI functions in the traced process (see pci_files.hpp).
#include "preload/pci_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/diagnostics.hpp"
#include "preload/environment.hpp"
#include "recorder/recorder.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::preload {
namespace {

// The libc calls the shim makes itself, past its own interposers.
ssize_t raw_pread(int fd, void* buffer, size_t size, off_t offset) {
  return static_cast<ssize_t>(syscall(SYS_pread64, fd, buffer, size, offset));
}
ssize_t raw_pwrite(int fd, const void* buffer, size_t size, off_t offset) {
  return static_cast<ssize_t>(syscall(SYS_pwrite64, fd, buffer, size, offset));
}

void mark_access(recorder::Recorder& recorder, const PciFunctionFiles& function, const char* kind,
                 size_t offset, const uint8_t* bytes, size_t size) {
  for (size_t done = 0; done < size; done += trace::kMaxPciConfigMarkerBytes) {
    trace::PciConfigMarker marker;
    marker.function = function.attachment.address.text();
    marker.kind = kind;
    marker.offset = static_cast<uint32_t>(offset + done);
    size_t piece = std::min(trace::kMaxPciConfigMarkerBytes, size - done);
    marker.bytes.assign(reinterpret_cast<const char*>(bytes) + done, piece);
    std::string text = trace::format_pci_config_marker(marker);
    recorder.mark(text.data(), text.size());
  }
}

}  // namespace

void PciFiles::attach_from_environment(DeviceFiles& devices) {
  const char* list = getenv(kPciDevicesVariable);
  if (list == nullptr || *list == '\0') return;
  std::string lines = list;
  for (size_t start = 0; start < lines.size();) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    std::string line = lines.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    std::optional<devices::PciAttachment> attachment = devices::parse_pci_attachment(line);
    if (!attachment) {
      Diagnostic report;
      report.text(kPciDevicesVariable).text(": cannot read '").text(line).text("'; left out");
      report.emit();
      continue;
    }
    auto function = std::make_unique<PciFunctionFiles>();
    function->attachment = *attachment;
    function->bars[attachment->bar] = attachment->layout;
    function->folder =
        "/sys/devices/" + attachment->address.root_text() + "/" + attachment->address.text();
    std::string resource = function->folder + "/resource" + std::to_string(attachment->bar);
    struct stat status;
    if (stat((function->folder + "/config").c_str(), &status) != 0) {
      Diagnostic report;
      report.text("the virtual PCI function ").text(attachment->address.text().c_str());
      report.text(" is not in this mount namespace; left out");
      report.emit();
      continue;
    }
    tree_device_ = status.st_dev;
    function->config_inode = status.st_ino;
    if (stat(resource.c_str(), &status) == 0) function->resource_inode = status.st_ino;
    std::string uio = attachment->uio >= 0 ? "/dev/uio" + std::to_string(attachment->uio) : "";
    // A replayed function's BAR is the replay's device at its resourceN path.
    bool attached =
        attachment->model == "replay"
            ? devices.adopt_pci_bar(resource, attachment->layout.address, attachment->layout.size,
                                    uio)
            : devices.add_pci_bar(resource, attachment->model, attachment->arguments,
                                  attachment->layout.address, attachment->layout.size, uio);
    if (!attached) continue;
    functions_.push_back(std::move(function));
  }
  if (functions_.empty()) return;
  struct stat memory;
  if (stat("/dev/mem", &memory) == 0 && S_ISCHR(memory.st_mode)) {
    host_memory_ = memory.st_rdev;
  } else {
    devices.add_physical_memory("/dev/mem");
  }
  // The BARs' device files, now that `devices` holds them all (they do not move).
  for (auto& function : functions_)
    function->bar = devices.pci_bar_at(function->attachment.layout.address, 1);
}

void PciFiles::note_open(int fd) {
  if (fd < 0 || fd >= kTrackedDescriptors) return;
  struct stat status;
  ino_t inode = 0;
  if (fstat(fd, &status) == 0 && status.st_dev == tree_device_) {
    for (const auto& function : functions_) {
      if (status.st_ino == function->config_inode || status.st_ino == function->resource_inode) {
        inode = status.st_ino;
      }
    }
  }
  descriptors_[static_cast<size_t>(fd)].store(inode, std::memory_order_relaxed);
}

PciFunctionFiles* PciFiles::config_of(int fd) {
  if (fd < 0 || fd >= kTrackedDescriptors) return nullptr;
  ino_t inode = descriptors_[static_cast<size_t>(fd)].load(std::memory_order_relaxed);
  if (inode == 0) return nullptr;
  struct stat status;
  if (fstat(fd, &status) != 0 || status.st_dev != tree_device_ || status.st_ino != inode) {
    descriptors_[static_cast<size_t>(fd)].store(0, std::memory_order_relaxed);
    return nullptr;
  }
  for (const auto& function : functions_) {
    if (function->config_inode == inode) return function.get();
  }
  return nullptr;
}

const DeviceFile* PciFiles::resource_of(int fd) {
  if (fd < 0 || fd >= kTrackedDescriptors) return nullptr;
  ino_t inode = descriptors_[static_cast<size_t>(fd)].load(std::memory_order_relaxed);
  if (inode == 0) return nullptr;
  struct stat status;
  if (fstat(fd, &status) != 0 || status.st_dev != tree_device_ || status.st_ino != inode) {
    descriptors_[static_cast<size_t>(fd)].store(0, std::memory_order_relaxed);
    return nullptr;
  }
  for (const auto& function : functions_) {
    if (function->resource_inode == inode) return function->bar;
  }
  return nullptr;
}

bool PciFiles::is_host_physical_memory(int fd) const {
  if (host_memory_ == 0) return false;
  struct stat status;
  return fstat(fd, &status) == 0 && S_ISCHR(status.st_mode) && status.st_rdev == host_memory_;
}

bool PciFiles::config_ready(PciFunctionFiles& function) {
  if (function.config_fd < 0) {
    function.config_fd = open((function.folder + "/config").c_str(), O_RDWR | O_CLOEXEC);
    if (function.config_fd < 0) return false;
    // Kept out of the program's range, as the shim's other descriptors are.
    int high = fcntl(function.config_fd, F_DUPFD_CLOEXEC, 900);
    if (high >= 0) {
      close(function.config_fd);
      function.config_fd = high;
    }
  }
  if (!function.mask_made) {
    std::array<uint8_t, devices::kPciConfigSize> config = {};
    if (raw_pread(function.config_fd, config.data(), config.size(), 0) < 64) return false;
    function.mask = devices::pci_write_mask(config, function.bars);
    function.mask_made = true;
  }
  return true;
}

ssize_t PciFiles::read_config(PciFunctionFiles& function, int fd, void* buffer, size_t size,
                              off_t offset, recorder::Recorder& recorder) {
  ssize_t got = raw_pread(fd, buffer, size, offset);
  if (got > 0) {
    mark_access(recorder, function, "read", static_cast<size_t>(offset),
                static_cast<const uint8_t*>(buffer), static_cast<size_t>(got));
  }
  return got;
}

ssize_t PciFiles::write_config(PciFunctionFiles& function, int fd, const void* buffer, size_t size,
                               off_t offset, recorder::Recorder& recorder) {
  int mode = fcntl(fd, F_GETFL);
  if (mode < 0) return -1;
  if ((mode & O_ACCMODE) == O_RDONLY) {
    errno = EBADF;
    return -1;
  }
  return access_config(function, const_cast<void*>(buffer), size, offset, true, recorder);
}

ssize_t PciFiles::access_config(PciFunctionFiles& function, void* buffer, size_t size, off_t offset,
                                bool write, recorder::Recorder& recorder) {
  if (offset < 0) {
    errno = EINVAL;
    return -1;
  }
  std::lock_guard guard(function.lock);
  if (!config_ready(function)) {
    errno = EIO;
    return -1;
  }
  if (!write) {
    ssize_t got = raw_pread(function.config_fd, buffer, size, offset);
    if (got > 0) {
      mark_access(recorder, function, "read", static_cast<size_t>(offset),
                  static_cast<const uint8_t*>(buffer), static_cast<size_t>(got));
    }
    return got;
  }
  struct stat status;
  if (fstat(function.config_fd, &status) != 0) return -1;
  auto end = static_cast<size_t>(status.st_size);
  if (static_cast<size_t>(offset) >= end) return 0;
  size = std::min(size, end - static_cast<size_t>(offset));
  std::array<uint8_t, devices::kPciConfigSize> config = {};
  if (raw_pread(function.config_fd, config.data(), end, 0) < 0) return -1;
  devices::pci_config_write(config.data(), function.mask.data(), static_cast<size_t>(offset),
                            static_cast<const uint8_t*>(buffer), size);
  if (raw_pwrite(function.config_fd, config.data() + offset, size, offset) < 0) return -1;
  mark_access(recorder, function, "write", static_cast<size_t>(offset),
              static_cast<const uint8_t*>(buffer), size);
  return static_cast<ssize_t>(size);
}

bool PciFiles::config_contents(PciFunctionFiles& function,
                               std::array<uint8_t, devices::kPciConfigSize>* out,
                               size_t* config_size) {
  std::lock_guard guard(function.lock);
  if (!config_ready(function)) return false;
  out->fill(0);
  ssize_t got = raw_pread(function.config_fd, out->data(), out->size(), 0);
  if (got < 64) return false;
  *config_size = static_cast<size_t>(got);
  return true;
}

void PciFiles::enable_decoding(PciFunctionFiles& function, uint16_t bits) {
  std::lock_guard guard(function.lock);
  if (!config_ready(function)) return;
  uint16_t command = 0;
  if (raw_pread(function.config_fd, &command, 2, 4) != 2) return;
  command = static_cast<uint16_t>(command | bits);
  raw_pwrite(function.config_fd, &command, 2, 4);
}

}  // namespace mmiotrace::preload
