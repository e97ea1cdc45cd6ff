// The --pci option, and the bus it lays out (see pci_option.hpp).
#include "cli/pci_option.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/cli_error.hpp"
#include "devices/model_catalog.hpp"

namespace mmiotrace::cli {
namespace {

// Where BARs are placed when no dump says: 32-bit BARs in the top of the 32-bit PCI hole,
// 64-bit ones (only from a dump) high above memory.
constexpr uint64_t kWindow32Begin = 0xe0000000;
constexpr uint64_t kWindow32End = 0xfec00000;
constexpr uint64_t kWindow64Begin = 0x8000000000;
constexpr uint64_t kWindow64End = 0x10000000000;

const char* const kPciKeys[] = {"vendor",           "device", "subsystem_vendor",
                                "subsystem_device", "class",  "revision",
                                "config",           "driver", "bar"};

[[noreturn]] void refuse(const std::string& subcommand, const std::string& text,
                         const std::string& why) {
  throw CliError(kExitBadPci, subcommand + ": --pci '" + devices::printable(text) + "': " + why);
}

std::optional<uint64_t> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int base = 10;
  std::string digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits = digits.substr(2);
  }
  if (digits.empty() ||
      digits.find_first_not_of(base == 16 ? "0123456789abcdefABCDEF" : "0123456789") !=
          std::string::npos ||
      digits.size() > 16) {
    return std::nullopt;
  }
  return std::stoull(digits, nullptr, base);
}

std::string read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read config='" + path + "'";
    return "";
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

uint64_t power_of_two_ceiling(uint64_t value) {
  uint64_t power = 1;
  while (power < value && power != 0)
    power <<= 1;
  return power;
}

struct Range {
  uint64_t begin;
  uint64_t end;  // past
};

bool overlaps(const std::vector<Range>& used, uint64_t begin, uint64_t size) {
  return std::any_of(used.begin(), used.end(),
                     [&](const Range& r) { return begin < r.end && r.begin < begin + size; });
}

// The host's devices (names under sysfs/bus/pci/devices) and their BAR ranges.
void read_host(const std::string& sysfs, std::set<std::string>* names, std::vector<Range>* bars) {
  std::string devices = sysfs + "/bus/pci/devices";
  DIR* folder = opendir(devices.c_str());
  if (folder == nullptr) return;
  while (dirent* entry = readdir(folder)) {
    if (entry->d_name[0] == '.') continue;
    names->insert(entry->d_name);
    std::ifstream resource(devices + "/" + entry->d_name + "/resource");
    std::string line;
    while (std::getline(resource, line)) {
      uint64_t start = 0, end = 0, flags = 0;
      if (sscanf(line.c_str(), "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end, &flags) == 3 &&
          end > start) {
        bars->push_back({start, end + 1});
      }
    }
  }
  closedir(folder);
}

// The first number N from 0 for which neither `taken` nor the host (`paths` with N) has one.
int free_number(std::set<int>* taken, const std::vector<std::string>& host_prefixes) {
  for (int n = 0;; ++n) {
    if (taken->count(n)) continue;
    bool host = false;
    for (const std::string& prefix : host_prefixes) {
      struct stat status;
      host = host || stat((prefix + std::to_string(n)).c_str(), &status) == 0;
    }
    if (host) continue;
    taken->insert(n);
    return n;
  }
}

}  // namespace

PciOption checked_pci(const std::string& subcommand, const std::string& text) {
  PciOption option;
  option.text = text;
  size_t model_end = text.find_first_of(":@");
  size_t at = text.rfind('@');
  if (at == std::string::npos) {
    refuse(subcommand, text, "no @BDF (expected MODEL[:ARGS]@BDF, e.g. regfile:size=64K@03:00.0)");
  }
  option.model = text.substr(0, model_end);
  if (option.model.empty())
    refuse(subcommand, text, "no MODEL before '" + text.substr(model_end, 1) + "'");
  std::string arguments;
  if (text[model_end] == ':') arguments = text.substr(model_end + 1, at - model_end - 1);
  std::string error;
  std::optional<devices::PciAddress> address =
      devices::parse_pci_address(text.substr(at + 1), &error);
  if (!address) refuse(subcommand, text, error);
  option.address = *address;
  // The function's keys, taken out of ARGS; the rest is the model's.
  std::map<std::string, std::string> keys;
  std::string model_arguments;
  size_t start = 0;
  while (start <= arguments.size() && !arguments.empty()) {
    size_t comma = arguments.find(',', start);
    if (comma == std::string::npos) comma = arguments.size();
    std::string item = arguments.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) {
      if (comma == arguments.size()) break;
      continue;
    }
    std::string key = item.substr(0, item.find('='));
    bool pci_key = std::find(std::begin(kPciKeys), std::end(kPciKeys), key) != std::end(kPciKeys);
    if (pci_key) {
      if (item.find('=') == std::string::npos)
        refuse(subcommand, text, key + " needs a value (" + key + "=...)");
      if (keys.count(key)) refuse(subcommand, text, key + "= is given twice");
      keys[key] = item.substr(key.size() + 1);
    } else {
      model_arguments += (model_arguments.empty() ? "" : ",") + item;
    }
    if (comma == arguments.size()) break;
  }
  option.model_arguments = model_arguments;
  if (keys.count("config")) {
    std::string content = read_file(keys["config"], &error);
    if (!error.empty()) refuse(subcommand, text, error);
    option.dump = devices::parse_pci_config_dump(keys["config"], content, &error);
    if (!option.dump) refuse(subcommand, text, error);
  }
  // The identity: the model's, or the dump's, then the keys.
  option.identity = devices::default_pci_identity(option.model);
  if (option.dump) {
    const auto& b = option.dump->bytes;
    option.identity.vendor = static_cast<uint16_t>(b[0] | b[1] << 8);
    option.identity.device = static_cast<uint16_t>(b[2] | b[3] << 8);
    option.identity.revision = b[8];
    option.identity.class_code = static_cast<uint32_t>(b[9] | b[10] << 8 | b[11] << 16);
    option.identity.subsystem_vendor = static_cast<uint16_t>(b[0x2c] | b[0x2d] << 8);
    option.identity.subsystem_device = static_cast<uint16_t>(b[0x2e] | b[0x2f] << 8);
  }
  auto number = [&](const char* key, uint64_t maximum) -> std::optional<uint64_t> {
    auto found = keys.find(key);
    if (found == keys.end()) return std::nullopt;
    std::optional<uint64_t> value = parse_number(found->second);
    if (!value || *value > maximum) {
      char limit[32];
      snprintf(limit, sizeof(limit), "0x%" PRIx64, maximum);
      refuse(subcommand, text,
             std::string(key) + "=" + found->second + " is not a number from 0 to " + limit);
    }
    return value;
  };
  if (auto v = number("vendor", 0xffff)) option.identity.vendor = static_cast<uint16_t>(*v);
  if (auto v = number("device", 0xffff)) option.identity.device = static_cast<uint16_t>(*v);
  if (auto v = number("subsystem_vendor", 0xffff)) {
    option.identity.subsystem_vendor = static_cast<uint16_t>(*v);
  }
  if (auto v = number("subsystem_device", 0xffff)) {
    option.identity.subsystem_device = static_cast<uint16_t>(*v);
  }
  if (auto v = number("class", 0xffffff)) option.identity.class_code = static_cast<uint32_t>(*v);
  if (auto v = number("revision", 0xff)) option.identity.revision = static_cast<uint8_t>(*v);
  if (auto v = number("bar", devices::kPciBars - 1)) option.bar = static_cast<unsigned>(*v);
  if (keys.count("driver")) {
    option.driver = keys["driver"];
    if (option.driver != "uio_pci_generic" && option.driver != "vfio-pci") {
      refuse(subcommand, text,
             "unknown driver '" + option.driver + "' (uio_pci_generic or vfio-pci)");
    }
  }
  if (std::optional<std::string> problem =
          devices::pci_identity_problem(option.model, option.identity)) {
    refuse(subcommand, text, "the model refuses this identity: " + *problem);
  }
  // The model judges its own arguments, and says how large its register space is.
  const mmiotrace_device_model* model = devices::find_model(option.model, &error);
  if (model == nullptr) refuse(subcommand, text, error);
  char why[256] = "";
  void* device = model->create(option.model_arguments.c_str(), why, sizeof(why));
  if (device == nullptr) {
    refuse(subcommand, text, why[0] ? why : "the model refuses these arguments");
  }
  option.model_size = model->size(device);
  model->destroy(device);
  return option;
}

VirtualPciBus plan_pci_bus(const std::string& subcommand, const std::vector<PciOption>& options,
                           bool only, const std::string& sysfs) {
  VirtualPciBus bus;
  bus.only = only;
  std::set<std::string> host_names;
  std::vector<Range> used;
  read_host(sysfs, &host_names, &used);
  std::set<std::string> names;
  std::set<int> uio_numbers;
  std::set<int> groups;
  for (const PciOption& option : options) {
    std::string name = option.address.text();
    if (!names.insert(name).second) {
      refuse(subcommand, option.text,
             "a second function at " + name + " (each --pci needs its own BDF)");
    }
    if (host_names.count(name)) {
      refuse(subcommand, option.text,
             "the host has a device at " + name + " (see lspci -D); choose a free BDF");
    }
    devices::PciBar bar = devices::pci_bar_type(option.dump ? &*option.dump : nullptr, option.bar);
    if (bar.io) {
      refuse(subcommand, option.text,
             "BAR " + std::to_string(option.bar) +
                 " of the dump is an I/O BAR; the model must be "
                 "in a memory BAR (bar=N)");
    }
    if (bar.is64 && option.bar == devices::kPciBars - 1) bar.is64 = false;
    bar.size = power_of_two_ceiling(std::max<uint64_t>(option.model_size, 4096));
    uint64_t window_begin = bar.is64 ? kWindow64Begin : kWindow32Begin;
    uint64_t window_end = bar.is64 ? kWindow64End : kWindow32End;
    if (bar.size == 0 || bar.size > (window_end - window_begin) / 2) {
      char limit[32];
      snprintf(limit, sizeof(limit), "%" PRIu64 "M", (window_end - window_begin) / 2 >> 20);
      refuse(subcommand, option.text,
             "BAR " + std::to_string(option.bar) + " would be too large (" +
                 std::to_string(option.model_size) + " bytes; a " + (bar.is64 ? "64" : "32") +
                 "-bit BAR here holds at most " + limit + ")");
    }
    if (bar.address == 0 || bar.address % bar.size != 0 || overlaps(used, bar.address, bar.size)) {
      bar.address = 0;
      for (uint64_t at = window_begin; at + bar.size <= window_end; at += bar.size) {
        if (!overlaps(used, at, bar.size)) {
          bar.address = at;
          break;
        }
      }
      if (bar.address == 0) {
        refuse(subcommand, option.text, "no room left for its BAR below 4G; use fewer devices");
      }
    }
    used.push_back({bar.address, bar.address + bar.size});
    std::array<devices::PciBar, devices::kPciBars> bars = {};
    bars[option.bar] = bar;
    std::string error;
    std::optional<devices::PciFunction> function = devices::make_pci_function(
        option.address, option.identity, bars, option.dump ? &*option.dump : nullptr, &error);
    if (!function) refuse(subcommand, option.text, error);
    devices::PciAttachment attachment;
    attachment.address = option.address;
    attachment.bar = option.bar;
    attachment.layout = bar;
    attachment.driver = option.driver;
    attachment.model = option.model;
    attachment.arguments = option.model_arguments;
    if (option.driver == "uio_pci_generic") {
      attachment.uio = free_number(&uio_numbers, {sysfs + "/class/uio/uio", "/dev/uio"});
    } else if (option.driver == "vfio-pci") {
      attachment.group = free_number(&groups, {sysfs + "/kernel/iommu_groups/", "/dev/vfio/"});
    }
    bus.functions.push_back(*function);
    bus.attachments.push_back(attachment);
  }
  return bus;
}

PciConfigChoice parse_pci_config_choice(const std::string& text) {
  auto refuse_choice = [&](const std::string& why) {
    throw CliError(kExitBadPci, "replay: --pci-config '" + devices::printable(text) + "': " + why);
  };
  size_t at = text.rfind('@');
  if (at == std::string::npos || at == 0) {
    refuse_choice("expected FILE@BDF (a dump that 'lspci -xxx -s BDF' printed, and the function)");
  }
  std::string error;
  std::optional<devices::PciAddress> address =
      devices::parse_pci_address(text.substr(at + 1), &error);
  if (!address) refuse_choice(error);
  const std::string path = text.substr(0, at);
  std::string content = read_file(path, &error);
  if (!error.empty()) refuse_choice("cannot read " + path);
  std::optional<devices::PciConfigDump> dump =
      devices::parse_pci_config_dump(path, content, &error);
  if (!dump) refuse_choice(error);
  return {*address, std::string(reinterpret_cast<const char*>(dump->bytes.data()), dump->size)};
}

devices::PciAddress pci_address_of(const trace::PciDeviceFields& pcidev) {
  devices::PciAddress address;
  address.bus = pcidev.bus;
  address.slot = pcidev.devfn >> 3;
  address.function = pcidev.devfn & 7;
  return address;
}

trace::PciDeviceFields replayed_pci_device(const std::string& line) {
  trace::PciDeviceFields fields;
  trace::PciDeviceLineError error;
  if (trace::parse_pci_device_line(line, &fields, &error)) return fields;
  std::string function = "a PCIDEV line";
  if (error.slot_read) function = "the PCIDEV line of " + pci_address_of(fields).text();
  if (error.kind == trace::PciDeviceLineError::Kind::NotHex) {
    throw CliError(kExitBadTrace, "replay: " + function + " has '" +
                                      devices::printable(error.field) +
                                      "' where a hex number goes");
  }
  throw CliError(kExitBadTrace, "replay: " + function +
                                    " is malformed: it needs 'PCIDEV BBDF "
                                    "VVVVDDDD IRQ', seven bases and seven sizes, in hexadecimal");
}

VirtualPciBus plan_replayed_pci_bus(const std::vector<ReplayedPciFunction>& functions,
                                    const std::string& sysfs) {
  VirtualPciBus bus;
  std::set<std::string> host_names;
  std::vector<Range> host_bars;
  read_host(sysfs, &host_names, &host_bars);
  std::set<int> uio_numbers;
  std::set<int> groups;
  for (const ReplayedPciFunction& replayed : functions) {
    const trace::PciDeviceFields& pcidev = replayed.pcidev;
    std::string name = replayed.address.text();
    if (host_names.count(name)) {
      throw CliError(kExitBadPci, "replay: the host has a device at " + name +
                                      ", where the trace's function is to go back");
    }
    devices::PciConfigDump dump;
    const devices::PciConfigDump* dump_used = nullptr;
    if (replayed.config.size() >= 64) {
      dump.size = std::min(replayed.config.size(), devices::kPciConfigSize);
      memcpy(dump.bytes.data(), replayed.config.data(), dump.size);
      dump_used = &dump;
    }
    devices::PciIdentity identity = devices::default_pci_identity("");
    identity.vendor = pcidev.vendor;
    identity.device = pcidev.device;
    if (dump_used) {
      const auto& b = dump.bytes;
      identity.revision = b[8];
      identity.class_code = static_cast<uint32_t>(b[9] | b[10] << 8 | b[11] << 16);
      identity.subsystem_vendor = static_cast<uint16_t>(b[0x2c] | b[0x2d] << 8);
      identity.subsystem_device = static_cast<uint16_t>(b[0x2e] | b[0x2f] << 8);
    }
    uint64_t base = pcidev.base[replayed.bar];
    devices::PciBar bar;
    bar.address = base & ~uint64_t{0xf};
    bar.size = pcidev.size[replayed.bar];
    bar.is64 = (base & 6) == 4;
    bar.prefetchable = (base & 8) != 0;
    std::array<devices::PciBar, devices::kPciBars> bars = {};
    bars[replayed.bar] = bar;
    std::string error;
    std::optional<devices::PciFunction> function =
        devices::make_pci_function(replayed.address, identity, bars, dump_used, &error);
    if (!function) throw CliError(kExitBadTrace, "replay: " + name + ": " + error);
    function->irq = static_cast<uint8_t>(pcidev.irq);
    devices::PciAttachment attachment;
    attachment.address = replayed.address;
    attachment.bar = replayed.bar;
    attachment.layout = bar;
    attachment.model = "replay";
    const std::string& driver = pcidev.driver;
    if (driver == "uio_pci_generic") {
      attachment.driver = driver;
      attachment.uio = free_number(&uio_numbers, {sysfs + "/class/uio/uio", "/dev/uio"});
    } else if (driver == "vfio-pci") {
      attachment.driver = driver;
      attachment.group = free_number(&groups, {sysfs + "/kernel/iommu_groups/", "/dev/vfio/"});
    }
    bus.functions.push_back(*function);
    bus.attachments.push_back(attachment);
  }
  return bus;
}

}  // namespace mmiotrace::cli
