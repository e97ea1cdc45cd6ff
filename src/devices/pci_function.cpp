// Virtual PCI functions: addresses, identities, configuration dumps and spaces (see
// pci_function.hpp).
#include "devices/pci_function.hpp"

#include <cstdio>
#include <cstring>

#include "devices/model_catalog.hpp"

namespace mmiotrace::devices {
namespace {

// Registers of a type 0 header.
constexpr size_t kVendor = 0x00;
constexpr size_t kDevice = 0x02;
constexpr size_t kCommand = 0x04;
constexpr size_t kStatus = 0x06;
constexpr size_t kRevision = 0x08;
constexpr size_t kClass = 0x09;
constexpr size_t kCacheLine = 0x0c;
constexpr size_t kLatency = 0x0d;
constexpr size_t kHeaderType = 0x0e;
constexpr size_t kBar0 = 0x10;
constexpr size_t kSubsystemVendor = 0x2c;
constexpr size_t kSubsystemDevice = 0x2e;
constexpr size_t kRom = 0x30;
constexpr size_t kCapabilities = 0x34;
constexpr size_t kInterruptLine = 0x3c;
constexpr size_t kHeaderEnd = 0x40;
constexpr size_t kExtendedStart = 0x100;
constexpr uint16_t kStatusCapabilityList = 0x10;
constexpr uint8_t kCapabilityPciExpress = 0x10;

void put16(uint8_t* at, uint16_t value) {
  at[0] = static_cast<uint8_t>(value);
  at[1] = static_cast<uint8_t>(value >> 8);
}
void put32(uint8_t* at, uint32_t value) {
  put16(at, static_cast<uint16_t>(value));
  put16(at + 2, static_cast<uint16_t>(value >> 16));
}
uint16_t get16(const uint8_t* at) {
  return static_cast<uint16_t>(at[0] | at[1] << 8);
}
uint32_t get32(const uint8_t* at) {
  return get16(at) | static_cast<uint32_t>(get16(at + 2)) << 16;
}

// Calls `visit(offset, header_bytes)` for each capability of the standard list, then of the
// extended list (when `size` reaches it), guarding against loops.
template <typename Visit>
void each_capability(const uint8_t* config, size_t size, Visit visit) {
  if (get16(config + kStatus) & kStatusCapabilityList) {
    size_t at = config[kCapabilities] & 0xfc;
    for (int guard = 0; at >= kHeaderEnd && at < kPciLegacyConfigSize && guard < 48; ++guard) {
      visit(at, size_t{2});
      at = config[at + 1] & 0xfc;
    }
  }
  if (size < kPciConfigSize) return;
  size_t at = kExtendedStart;
  for (int guard = 0; at >= kExtendedStart && at + 4 <= kPciConfigSize && guard < 960; ++guard) {
    uint32_t header = get32(config + at);
    if (header == 0 || header == 0xffffffff) break;
    visit(at, size_t{4});
    at = (header >> 20) & 0xffc;
  }
}

bool has_pci_express(const uint8_t* config) {
  bool found = false;
  each_capability(config, kPciLegacyConfigSize, [&](size_t at, size_t header) {
    if (header == 2 && config[at] == kCapabilityPciExpress) found = true;
  });
  return found;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

unsigned hex_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
  return static_cast<unsigned>(c - 'A' + 10);
}

}  // namespace

std::string PciAddress::text() const {
  char text[32];
  snprintf(text, sizeof(text), "%04x:%02x:%02x.%x", domain, bus, slot, function);
  return text;
}

std::string PciAddress::root_text() const {
  char text[32];
  snprintf(text, sizeof(text), "pci%04x:%02x", domain, bus);
  return text;
}

std::optional<PciAddress> parse_pci_address(const std::string& text, std::string* error) {
  auto reject = [&](const std::string& why) -> std::optional<PciAddress> {
    if (error) {
      *error = printable("'" + text + "' is not a PCI address: " + why +
                         " (expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:03:00.0)");
    }
    return std::nullopt;
  };
  // Fields, split at ':' and '.': [domain:]bus:device.function.
  std::vector<std::string> fields;
  std::string current;
  std::string separators;
  for (char c : text) {
    if (c == ':' || c == '.') {
      fields.push_back(current);
      separators += c;
      current.clear();
    } else {
      current += c;
    }
  }
  fields.push_back(current);
  if (separators != "::." && separators != ":.") return reject("wrong form");
  const unsigned limits[] = {0xffff, 0xff, 0x1f, 0x7};
  const char* names[] = {"domain", "bus", "device", "function"};
  unsigned values[4] = {0, 0, 0, 0};
  size_t first = separators == "::." ? 0 : 1;
  for (size_t i = 0; i < fields.size(); ++i) {
    size_t slot = first + i;
    const std::string& field = fields[i];
    if (field.empty() || field.size() > 4) return reject(std::string("bad ") + names[slot]);
    unsigned value = 0;
    for (char c : field) {
      if (!is_hex_digit(c)) return reject(std::string("bad ") + names[slot] + " '" + field + "'");
      value = value * 16 + hex_value(c);
    }
    if (value > limits[slot]) {
      char limit[16];
      snprintf(limit, sizeof(limit), "%x", limits[slot]);
      return reject(std::string(names[slot]) + " " + field + " is above " + limit);
    }
    values[slot] = value;
  }
  return PciAddress{values[0], values[1], values[2], values[3]};
}

PciIdentity default_pci_identity(const std::string& model) {
  if (model == "nvme") return {0x1b36, 0x0010, 0x1af4, 0x1100, 0x010802, 0x02};
  if (model == "uart16550") return {0x1b36, 0x0002, 0x1af4, 0x1100, 0x070002, 0x01};
  return {0x1b36, 0x0005, 0x1af4, 0x1100, 0xff0000, 0x00};
}

std::optional<std::string> pci_identity_problem(const std::string& model,
                                                const PciIdentity& identity) {
  char text[96];
  if (identity.vendor == 0xffff || identity.vendor == 0) {
    snprintf(text, sizeof(text), "vendor %04x means \"no device\" on a PCI bus", identity.vendor);
    return std::string(text);
  }
  if (model == "nvme" && (identity.class_code >> 8) != 0x0108) {
    snprintf(text, sizeof(text),
             "the nvme model is an NVM Express controller (class 0108xx), not class %06x",
             identity.class_code);
    return std::string(text);
  }
  if (model == "uart16550" && (identity.class_code >> 8) != 0x0700) {
    snprintf(text, sizeof(text),
             "the uart16550 model is a serial controller (class 0700xx), not class %06x",
             identity.class_code);
    return std::string(text);
  }
  return std::nullopt;
}

std::string pci_identity_text(const PciIdentity& identity) {
  char text[64];
  snprintf(text, sizeof(text), "%04x:%04x (class %06x)", identity.vendor, identity.device,
           identity.class_code);
  return text;
}

std::optional<PciConfigDump> parse_pci_config_dump(const std::string& name, const std::string& text,
                                                   std::string* error) {
  PciConfigDump dump;
  size_t line_number = 0;
  size_t expected = 0;  // the next offset
  int devices = 0;
  auto fail = [&](size_t column, const std::string& why) -> std::optional<PciConfigDump> {
    if (error) {
      *error = printable(name + ":" + std::to_string(line_number) + ":" + std::to_string(column) +
                         ": " + why);
    }
    return std::nullopt;
  };
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    // "OFFSET:" of 2 or 3 hex digits, or a device line ("00:1f.0 ISA bridge: ...").
    size_t colon = line.find(':');
    bool offset_line = colon != std::string::npos && (colon == 2 || colon == 3);
    for (size_t i = 0; offset_line && i < colon; ++i)
      offset_line = is_hex_digit(line[i]);
    if (offset_line && colon + 1 < line.size() && line[colon + 1] != ' ') offset_line = false;
    if (!offset_line) {
      if (is_hex_digit(line[0]) && line.find(':') != std::string::npos) {
        if (++devices > 1) {
          return fail(1, "a second device; the dump must hold one device (lspci -xxx -s BDF)");
        }
        if (expected != 0) return fail(1, "a device line after the bytes of the first device");
        continue;
      }
      return fail(1, "expected 'OFFSET: HH HH ...' (as lspci -xxx prints)");
    }
    size_t offset = 0;
    for (size_t i = 0; i < colon; ++i)
      offset = offset * 16 + hex_value(line[i]);
    if (offset != expected) {
      char why[96];
      snprintf(why, sizeof(why), "offset %zx where %zx was expected (lines go in order from 00)",
               offset, expected);
      return fail(1, why);
    }
    size_t column = colon + 1;
    for (int byte = 0; byte < 16; ++byte) {
      if (column >= line.size() || line[column] != ' ') {
        return fail(column + 1, "expected 16 bytes, each a space and two hex digits");
      }
      if (column + 2 >= line.size() || !is_hex_digit(line[column + 1]) ||
          !is_hex_digit(line[column + 2])) {
        return fail(column + 2, "expected two hex digits");
      }
      if (offset + static_cast<size_t>(byte) >= kPciConfigSize) {
        return fail(1, "past the 4096 bytes of a configuration space");
      }
      dump.bytes[offset + static_cast<size_t>(byte)] =
          static_cast<uint8_t>(hex_value(line[column + 1]) << 4 | hex_value(line[column + 2]));
      column += 3;
    }
    if (line.find_first_not_of(" \t", column) != std::string::npos) {
      return fail(column + 1, "more than 16 bytes on a line");
    }
    expected += 16;
  }
  if (expected != 64 && expected != kPciLegacyConfigSize && expected != kPciConfigSize) {
    ++line_number;
    return fail(1, "the dump ends after " + std::to_string(expected) +
                       " bytes; a configuration dump holds 64, 256 or 4096 (lspci -xxx or "
                       "-xxxx)");
  }
  dump.size = expected;
  return dump;
}

uint64_t PciBar::resource_flags() const {
  if (size == 0) return 0;
  if (io) return 0x40101;  // IORESOURCE_IO | _SIZEALIGN | PCI_BASE_ADDRESS_SPACE_IO
  uint64_t flags = 0x40200;
  if (prefetchable) flags |= 0x2000 | 0x8;
  if (is64) flags |= 0x100000 | 0x4;
  return flags;
}

PciBar pci_bar_type(const PciConfigDump* dump, unsigned index) {
  PciBar bar;
  if (dump == nullptr) return bar;
  uint32_t low = get32(dump->bytes.data() + kBar0 + 4 * index);
  if (low & 1) {
    bar.io = true;
    bar.address = low & ~uint32_t{3};
    return bar;
  }
  bar.prefetchable = (low & 8) != 0;
  bar.is64 = ((low >> 1) & 3) == 2 && index + 1 < kPciBars;
  bar.address = low & ~uint32_t{15};
  if (bar.is64) {
    bar.address |= static_cast<uint64_t>(get32(dump->bytes.data() + kBar0 + 4 * (index + 1))) << 32;
  }
  return bar;
}

std::optional<PciFunction> make_pci_function(const PciAddress& address, const PciIdentity& identity,
                                             const std::array<PciBar, kPciBars>& bars,
                                             const PciConfigDump* dump, std::string* error) {
  PciFunction function;
  function.address = address;
  function.identity = identity;
  function.bars = bars;
  uint8_t* config = function.config.data();
  if (dump != nullptr) {
    if ((dump->bytes[kHeaderType] & 0x7f) != 0) {
      if (error) {
        char why[128];
        snprintf(why, sizeof(why),
                 "the dump is of header type %u (a bridge); only type 0 functions can be "
                 "virtual devices",
                 dump->bytes[kHeaderType] & 0x7f);
        *error = why;
      }
      return std::nullopt;
    }
    function.config = dump->bytes;
    function.config_size = dump->size == kPciConfigSize || has_pci_express(config)
                               ? kPciConfigSize
                               : kPciLegacyConfigSize;
    memset(config + kBar0, 0, 4 * kPciBars);
    memset(config + kRom, 0, 4);
    put16(config + kStatus, get16(config + kStatus) & kStatusCapabilityList);
    function.irq = config[kInterruptLine];
  } else {
    put16(config + kCommand, 0x0002);  // memory space on, as firmware leaves an assigned BAR
    put16(config + kStatus, 0);
  }
  put16(config + kVendor, identity.vendor);
  put16(config + kDevice, identity.device);
  config[kRevision] = identity.revision;
  config[kClass] = static_cast<uint8_t>(identity.class_code);
  config[kClass + 1] = static_cast<uint8_t>(identity.class_code >> 8);
  config[kClass + 2] = static_cast<uint8_t>(identity.class_code >> 16);
  put16(config + kSubsystemVendor, identity.subsystem_vendor);
  put16(config + kSubsystemDevice, identity.subsystem_device);
  for (unsigned i = 0; i < kPciBars; ++i) {
    const PciBar& bar = bars[i];
    if (bar.size == 0) continue;
    uint8_t* at = config + kBar0 + 4 * i;
    if (bar.io) {
      put32(at, static_cast<uint32_t>(bar.address) | 1);
      continue;
    }
    put32(at, static_cast<uint32_t>(bar.address) | (bar.is64 ? 4 : 0) | (bar.prefetchable ? 8 : 0));
    if (bar.is64) put32(at + 4, static_cast<uint32_t>(bar.address >> 32));
  }
  return function;
}

std::array<uint8_t, kPciConfigSize> pci_write_mask(
    const std::array<uint8_t, kPciConfigSize>& config, const std::array<PciBar, kPciBars>& bars) {
  std::array<uint8_t, kPciConfigSize> mask = {};
  mask[kCommand] = 0x47;      // I/O, memory, bus master, parity error response
  mask[kCommand + 1] = 0x05;  // SERR#, INTx disable
  mask[kCacheLine] = 0xff;
  mask[kLatency] = 0xff;
  for (unsigned i = 0; i < kPciBars; ++i) {
    const PciBar& bar = bars[i];
    if (bar.size == 0) continue;
    uint64_t writable = ~(bar.size - 1) & (bar.io ? ~uint64_t{3} : ~uint64_t{15});
    put32(mask.data() + kBar0 + 4 * i, static_cast<uint32_t>(writable));
    if (bar.is64 && i + 1 < kPciBars) {
      put32(mask.data() + kBar0 + 4 * (i + 1), static_cast<uint32_t>(writable >> 32));
    }
  }
  mask[kInterruptLine] = 0xff;
  memset(mask.data() + kHeaderEnd, 0xff, kPciConfigSize - kHeaderEnd);
  each_capability(config.data(), kPciConfigSize,
                  [&](size_t at, size_t header) { memset(mask.data() + at, 0, header); });
  return mask;
}

void pci_config_write(uint8_t* config, const uint8_t* mask, size_t offset, const uint8_t* bytes,
                      size_t size) {
  for (size_t i = 0; i < size && offset + i < kPciConfigSize; ++i) {
    uint8_t writable = mask[offset + i];
    config[offset + i] =
        static_cast<uint8_t>((config[offset + i] & ~writable) | (bytes[i] & writable));
  }
}

std::string format_pci_attachment(const PciAttachment& attachment) {
  char text[256];
  const PciBar& bar = attachment.layout;
  unsigned flags = (bar.io ? 1u : 0u) | (bar.is64 ? 2u : 0u) | (bar.prefetchable ? 4u : 0u);
  snprintf(text, sizeof(text), "%s %u 0x%llx 0x%llx %u %s %d %d ",
           attachment.address.text().c_str(), attachment.bar,
           static_cast<unsigned long long>(bar.address), static_cast<unsigned long long>(bar.size),
           flags, attachment.driver.empty() ? "-" : attachment.driver.c_str(), attachment.uio,
           attachment.group);
  return text + attachment.model + (attachment.arguments.empty() ? "" : ":" + attachment.arguments);
}

std::optional<PciAttachment> parse_pci_attachment(const std::string& line) {
  char address[32];
  char driver[64];
  unsigned bar = 0;
  unsigned long long bar_address = 0;
  unsigned long long size = 0;
  unsigned flags = 0;
  int uio = -1;
  int group = -1;
  int consumed = 0;
  if (sscanf(line.c_str(), "%31s %u %llx %llx %u %63s %d %d %n", address, &bar, &bar_address, &size,
             &flags, driver, &uio, &group, &consumed) != 8 ||
      consumed <= 0 || bar >= kPciBars) {
    return std::nullopt;
  }
  std::optional<PciAddress> parsed = parse_pci_address(address, nullptr);
  if (!parsed) return std::nullopt;
  PciAttachment attachment;
  attachment.address = *parsed;
  attachment.bar = bar;
  attachment.layout.address = bar_address;
  attachment.layout.size = size;
  attachment.layout.io = (flags & 1) != 0;
  attachment.layout.is64 = (flags & 2) != 0;
  attachment.layout.prefetchable = (flags & 4) != 0;
  if (std::string(driver) != "-") attachment.driver = driver;
  attachment.uio = uio;
  attachment.group = group;
  std::string spec = line.substr(static_cast<size_t>(consumed));
  size_t colon = spec.find(':');
  attachment.model = spec.substr(0, colon);
  if (colon != std::string::npos) attachment.arguments = spec.substr(colon + 1);
  if (attachment.model.empty()) return std::nullopt;
  return attachment;
}

}  // namespace mmiotrace::devices
