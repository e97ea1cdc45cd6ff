// The virtual PCI bus: its sysfs tree, the mount namespace that shows it, and its trace lines
// (see pci_bus.hpp).
#include "cli/pci_bus.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>

#include "cli/cli_error.hpp"
#include "preload/environment.hpp"
#include "trace/markers.hpp"
#include "trace/pci_devices.hpp"

namespace mmiotrace::cli {
namespace {

std::runtime_error failure(const std::string& what) {
  return std::runtime_error(what + ": " + strerror(errno));
}

void write_file(const std::string& path, const std::string& content, mode_t mode = 0444) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw failure("cannot create " + path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t wrote = write(fd, content.data() + done, content.size() - done);
    if (wrote <= 0) {
      close(fd);
      throw failure("cannot write " + path);
    }
    done += static_cast<size_t>(wrote);
  }
  close(fd);
}

void make_directory(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw failure("cannot make " + path);
}

// mkdir -p.
void make_directories(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    make_directory(path.substr(0, slash));
  }
  make_directory(path);
}

void make_link(const std::string& target, const std::string& path) {
  if (symlink(target.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    throw failure("cannot link " + path);
  }
}

std::string hex(unsigned width, uint64_t value) {
  char text[32];
  snprintf(text, sizeof(text), "0x%0*llx\n", static_cast<int>(width),
           static_cast<unsigned long long>(value));
  return text;
}

std::string upper_hex(unsigned width, uint64_t value) {
  char text[32];
  snprintf(text, sizeof(text), "%0*llX", static_cast<int>(width),
           static_cast<unsigned long long>(value));
  return text;
}

std::string driver_name(const devices::PciAttachment& attachment) {
  return attachment.driver;
}

// rm -r: what write_pci_function() wrote.
void remove_tree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* entry, const struct stat*, int kind, struct FTW*) {
        return kind == FTW_DP ? rmdir(entry) : unlink(entry);
      },
      16, FTW_DEPTH | FTW_PHYS);
}

// Bind mounts `source` on `target`, recursively.
void bind(const std::string& source, const std::string& target) {
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    throw failure("cannot bind " + source + " on " + target);
  }
}

// Makes the host folder `host` show what `ours` (a folder of the staging tmpfs) holds as well:
// entries both have are merged one level down, and when `ours` has entries the host lacks,
// the host's other entries are bound (folders, files) or copied (links) into `ours`, which is
// then bound over `host`. With `hide_host` (a folder --pci-only empties), the host's own
// entries are left out.
void merge(const std::string& host, const std::string& ours, const std::set<std::string>& hide) {
  std::vector<std::string> our_entries;
  if (DIR* folder = opendir(ours.c_str())) {
    while (dirent* entry = readdir(folder)) {
      if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
        our_entries.push_back(entry->d_name);
      }
    }
    closedir(folder);
  }
  bool hide_host = hide.count(host) != 0;
  bool needs_mount = hide_host;
  for (const std::string& name : our_entries) {
    struct stat host_status;
    struct stat our_status;
    std::string host_path = host + "/" + name;
    std::string our_path = ours + "/" + name;
    if (lstat(host_path.c_str(), &host_status) != 0) {
      needs_mount = true;
      continue;
    }
    if (lstat(our_path.c_str(), &our_status) == 0 && S_ISDIR(our_status.st_mode) &&
        S_ISDIR(host_status.st_mode) && !hide_host) {
      merge(host_path, our_path, hide);
    }
  }
  if (!needs_mount) return;
  if (!hide_host) {
    DIR* folder = opendir(host.c_str());
    if (folder == nullptr) throw failure("cannot read " + host);
    while (dirent* entry = readdir(folder)) {
      std::string name = entry->d_name;
      if (name == "." || name == ".." ||
          std::find(our_entries.begin(), our_entries.end(), name) != our_entries.end()) {
        continue;
      }
      std::string host_path = host + "/" + name;
      std::string our_path = ours + "/" + name;
      struct stat status;
      if (lstat(host_path.c_str(), &status) != 0) continue;
      if (S_ISLNK(status.st_mode)) {
        char target[4096];
        ssize_t length = readlink(host_path.c_str(), target, sizeof(target) - 1);
        if (length <= 0) continue;
        make_link(std::string(target, static_cast<size_t>(length)), our_path);
      } else if (S_ISDIR(status.st_mode)) {
        make_directory(our_path);
        bind(host_path, our_path);
      } else {
        write_file(our_path, "", 0600);
        bind(host_path, our_path);
      }
    }
    closedir(folder);
  }
  bind(ours, host);
}

// Writes `/proc/self/FILE`.
void write_proc(const char* file, const std::string& content) {
  write_file(std::string("/proc/self/") + file, content, 0644);
}

// A private mount namespace, or says why there is none and exits.
void enter_namespace() {
  if (unshare(CLONE_NEWNS) == 0) return;
  int privileged_error = errno;
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
    // The command keeps its own user and group ids inside.
    write_proc("setgroups", "deny");
    write_proc("uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n");
    write_proc("gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n");
    return;
  }
  int user_error = errno;
  fprintf(stderr,
          "mmiotrace: record: --pci needs a private mount namespace to show the virtual bus, and "
          "none can be made here: unshare(CLONE_NEWNS): %s (it needs CAP_SYS_ADMIN: run as "
          "root), unshare(CLONE_NEWUSER): %s (unprivileged user namespaces are off: "
          "sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, or AppArmor's "
          "kernel.apparmor_restrict_unprivileged_userns)\n",
          strerror(privileged_error), strerror(user_error));
  _exit(kExitNoPciBus);
}

}  // namespace

void write_pci_function(const std::string& directory, const devices::PciFunction& function,
                        const devices::PciAttachment& attachment) {
  const devices::PciIdentity& id = function.identity;
  std::string name = function.address.text();
  write_file(
      directory + "/config",
      std::string(reinterpret_cast<const char*>(function.config.data()), function.config_size),
      0644);
  write_file(directory + "/vendor", hex(4, id.vendor));
  write_file(directory + "/device", hex(4, id.device));
  write_file(directory + "/subsystem_vendor", hex(4, id.subsystem_vendor));
  write_file(directory + "/subsystem_device", hex(4, id.subsystem_device));
  write_file(directory + "/class", hex(6, id.class_code));
  write_file(directory + "/revision", hex(2, id.revision));
  write_file(directory + "/irq", std::to_string(function.irq) + "\n");
  write_file(directory + "/numa_node", "-1\n");
  write_file(directory + "/enable", attachment.driver.empty() ? "0\n" : "1\n", 0644);
  std::string resource;
  for (unsigned i = 0; i < 7; ++i) {
    uint64_t start = 0, end = 0, flags = 0;
    if (i < devices::kPciBars && function.bars[i].size != 0) {
      start = function.bars[i].address;
      end = start + function.bars[i].size - 1;
      flags = function.bars[i].resource_flags();
    }
    char line[80];
    snprintf(line, sizeof(line), "0x%016llx 0x%016llx 0x%016llx\n",
             static_cast<unsigned long long>(start), static_cast<unsigned long long>(end),
             static_cast<unsigned long long>(flags));
    resource += line;
  }
  write_file(directory + "/resource", resource);
  for (unsigned i = 0; i < devices::kPciBars; ++i) {
    if (function.bars[i].size == 0) continue;
    std::string path = directory + "/resource" + std::to_string(i);
    write_file(path, "", 0600);
    if (truncate(path.c_str(), static_cast<off_t>(function.bars[i].size)) != 0) {
      throw failure("cannot size " + path);
    }
  }
  std::string ids = upper_hex(4, id.vendor) + ":" + upper_hex(4, id.device);
  std::string uevent;
  if (!attachment.driver.empty()) uevent += "DRIVER=" + driver_name(attachment) + "\n";
  uevent += "PCI_CLASS=" + upper_hex(0, id.class_code) + "\n";
  uevent += "PCI_ID=" + ids + "\n";
  uevent += "PCI_SUBSYS_ID=" + upper_hex(4, id.subsystem_vendor) + ":" +
            upper_hex(4, id.subsystem_device) + "\n";
  uevent += "PCI_SLOT_NAME=" + name + "\n";
  char modalias[128];
  snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", id.vendor,
           id.device, id.subsystem_vendor, id.subsystem_device, id.class_code >> 16,
           (id.class_code >> 8) & 0xff, id.class_code & 0xff);
  uevent += std::string("MODALIAS=") + modalias + "\n";
  write_file(directory + "/uevent", uevent, 0644);
  write_file(directory + "/modalias", std::string(modalias) + "\n");
  make_link("../../../bus/pci", directory + "/subsystem");
  if (!attachment.driver.empty()) {
    make_link("../../../bus/pci/drivers/" + driver_name(attachment), directory + "/driver");
  }
  if (attachment.group >= 0) {
    make_link("../../../kernel/iommu_groups/" + std::to_string(attachment.group),
              directory + "/iommu_group");
  }
  if (attachment.uio >= 0) {
    std::string uio = "uio" + std::to_string(attachment.uio);
    std::string folder = directory + "/uio/" + uio;
    make_directories(folder + "/maps/map0");
    write_file(folder + "/name", "uio_pci_generic\n");
    write_file(folder + "/version", "0.01.0\n");
    write_file(folder + "/dev", "240:" + std::to_string(attachment.uio) + "\n");
    const devices::PciBar& bar = attachment.layout;
    write_file(folder + "/maps/map0/addr", hex(16, bar.address));
    write_file(folder + "/maps/map0/size", hex(16, bar.size));
    write_file(folder + "/maps/map0/offset", "0x0\n");
    write_file(folder + "/maps/map0/name", "BAR" + std::to_string(attachment.bar) + "\n");
  }
}

void enter_pci_bus(const VirtualPciBus& bus) {
  if (bus.empty()) {
    unsetenv(preload::kPciDevicesVariable);
    return;
  }
  enter_namespace();
  std::string staging;
  try {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      throw failure("cannot make the mounts private");
    }
    char temporary[] = "/tmp/mmiotrace-pci-XXXXXX";
    if (mkdtemp(temporary) == nullptr) throw failure("cannot make a folder in /tmp");
    staging = temporary;
    if (mount("mmiotrace-pci", staging.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") != 0) {
      throw failure("cannot mount a tmpfs on " + staging);
    }
    std::string sys = staging + "/sys";
    std::string lines;
    for (size_t i = 0; i < bus.functions.size(); ++i) {
      const devices::PciFunction& function = bus.functions[i];
      const devices::PciAttachment& attachment = bus.attachments[i];
      std::string name = function.address.text();
      std::string root = function.address.root_text();
      std::string folder = sys + "/devices/" + root + "/" + name;
      make_directories(folder);
      write_pci_function(folder, function, attachment);
      make_directories(sys + "/bus/pci/devices");
      make_link("../../../devices/" + root + "/" + name, sys + "/bus/pci/devices/" + name);
      if (!attachment.driver.empty()) {
        std::string driver = sys + "/bus/pci/drivers/" + attachment.driver;
        make_directories(driver);
        make_link("../../../../devices/" + root + "/" + name, driver + "/" + name);
      }
      if (attachment.uio >= 0) {
        std::string uio = "uio" + std::to_string(attachment.uio);
        make_directories(sys + "/class/uio");
        make_link("../../devices/" + root + "/" + name + "/uio/" + uio, sys + "/class/uio/" + uio);
      }
      if (attachment.group >= 0) {
        std::string group = sys + "/kernel/iommu_groups/" + std::to_string(attachment.group);
        make_directories(group + "/devices");
        make_link("../../../../devices/" + root + "/" + name, group + "/devices/" + name);
      }
      lines += devices::format_pci_attachment(attachment) + "\n";
    }
    std::set<std::string> hide;
    if (bus.only) hide.insert("/sys/bus/pci/devices");
    merge("/sys", sys, hide);
    // The tree lives on in the mounts made from it; the staging folder goes.
    umount2(staging.c_str(), MNT_DETACH);
    rmdir(staging.c_str());
    setenv(preload::kPciDevicesVariable, lines.c_str(), 1);
  } catch (const std::runtime_error& error) {
    if (!staging.empty()) {
      umount2(staging.c_str(), MNT_DETACH);
      rmdir(staging.c_str());
    }
    fprintf(stderr, "mmiotrace: record: cannot lay out the virtual PCI bus: %s\n", error.what());
    _exit(kExitNoPciBus);
  }
}

std::vector<std::string> pci_device_lines(const VirtualPciBus& bus,
                                          const std::vector<std::string>& globs,
                                          const std::string& sysfs) {
  std::vector<std::string> lines;
  if (!bus.only) lines = trace::pci_device_lines(globs, sysfs);
  if (bus.empty()) return lines;
  // Each function's folder written where trace::pci_device_line() reads it, as it reads the
  // host's: the lines are the kernel's by construction.
  // In memory where there is a tmpfs for it: written, read back and removed at once.
  char in_memory[] = "/dev/shm/mmiotrace-pcidev-XXXXXX";
  char on_disk[] = "/tmp/mmiotrace-pcidev-XXXXXX";
  char* temporary = mkdtemp(in_memory);
  if (temporary == nullptr) temporary = mkdtemp(on_disk);
  if (temporary == nullptr) return lines;
  std::string base = temporary;
  for (size_t i = 0; i < bus.functions.size(); ++i) {
    std::string folder = base + "/" + bus.functions[i].address.text();
    try {
      make_directory(folder);
      write_pci_function(folder, bus.functions[i], bus.attachments[i]);
      std::string line = trace::pci_device_line(folder);
      if (!line.empty()) lines.push_back(line);
    } catch (const std::runtime_error&) {
    }
    remove_tree(folder);
  }
  rmdir(base.c_str());
  // In the order of their bus and device numbers, as the kernel lists them.
  std::stable_sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
    return a.substr(7, 4) < b.substr(7, 4);
  });
  return lines;
}

std::vector<std::string> pci_config_markers(const VirtualPciBus& bus) {
  std::vector<std::string> markers;
  for (const devices::PciFunction& function : bus.functions) {
    for (size_t offset = 0; offset < function.config_size;
         offset += trace::kMaxPciConfigMarkerBytes) {
      trace::PciConfigMarker marker;
      marker.function = function.address.text();
      marker.kind = "contents";
      marker.offset = static_cast<uint32_t>(offset);
      size_t size = std::min(trace::kMaxPciConfigMarkerBytes, function.config_size - offset);
      marker.bytes.assign(reinterpret_cast<const char*>(function.config.data()) + offset, size);
      markers.push_back(trace::format_pci_config_marker(marker));
    }
  }
  return markers;
}

}  // namespace mmiotrace::cli
