// The bookkeeping markers' writers and parsers (see markers.hpp).
#include "trace/markers.hpp"

#include <charconv>
#include <cinttypes>
#include <cstdio>

namespace mmiotrace::trace {
namespace {

constexpr std::string_view kDevicePrefix = "device ";
constexpr std::string_view kDeviceInfix = " is map ";
constexpr std::string_view kModulePrefix = "module ";
constexpr std::string_view kBuildIdField = "build-id=";
constexpr std::string_view kArchitecturePrefix = "arch ";
constexpr std::string_view kPciPrefix = "pci ";
constexpr std::string_view kPciConfigInfix = " config ";
constexpr std::string_view kVfioPrefix = "vfio ";

std::string_view without_newline(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}

// Reads a decimal number (digits only, no sign) from the front of `text`.
template <typename Number>
bool take_decimal(std::string_view& text, Number* out) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out, 10);
  if (error != std::errc()) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

// Reads "0x" and lowercase or uppercase hexadecimal digits from the front of `text`.
bool take_hex(std::string_view& text, uint64_t* out) {
  if (text.size() < 3 || text[0] != '0' || text[1] != 'x') return false;
  text.remove_prefix(2);
  char first = text[0];
  bool digit = (first >= '0' && first <= '9') || (first >= 'a' && first <= 'f') ||
               (first >= 'A' && first <= 'F');
  if (!digit) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out, 16);
  if (error != std::errc()) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool take(std::string_view& text, std::string_view expected) {
  if (!text.starts_with(expected)) return false;
  text.remove_prefix(expected.size());
  return true;
}

}  // namespace

std::string format_device_marker(const DeviceMarker& marker) {
  std::string text(kDevicePrefix);
  text += marker.spec;
  text += kDeviceInfix;
  text += std::to_string(marker.map_id);
  text += '\n';
  return text;
}

std::optional<DeviceMarker> parse_device_marker(std::string_view text) {
  text = without_newline(text);
  if (!take(text, kDevicePrefix)) return std::nullopt;
  size_t infix = text.rfind(kDeviceInfix);
  if (infix == std::string_view::npos || infix == 0) return std::nullopt;
  DeviceMarker marker;
  marker.spec = std::string(text.substr(0, infix));
  std::string_view number = text.substr(infix + kDeviceInfix.size());
  if (!take_decimal(number, &marker.map_id) || !number.empty() || marker.map_id <= 0) {
    return std::nullopt;
  }
  if (marker.spec.find('\n') != std::string::npos) return std::nullopt;
  return marker;
}

std::string format_module_marker(const ModuleMarker& marker) {
  char numbers[96];
  snprintf(numbers, sizeof(numbers), "%d 0x%" PRIx64 "-0x%" PRIx64 " 0x%" PRIx64 " ", marker.pid,
           marker.lowest, marker.highest, marker.base);
  static const char kDigits[] = "0123456789abcdef";
  std::string text(kModulePrefix);
  text += numbers;
  if (!marker.build_id.empty()) {
    text += kBuildIdField;
    for (char c : marker.build_id) {
      auto byte = static_cast<unsigned char>(c);
      text += kDigits[byte >> 4];
      text += kDigits[byte & 15];
    }
    text += ' ';
  }
  text += marker.path;
  text += '\n';
  return text;
}

std::optional<ModuleMarker> parse_module_marker(std::string_view text) {
  text = without_newline(text);
  ModuleMarker marker;
  if (!take(text, kModulePrefix) || !take_decimal(text, &marker.pid) || !take(text, " ") ||
      !take_hex(text, &marker.lowest) || !take(text, "-") || !take_hex(text, &marker.highest) ||
      !take(text, " ") || !take_hex(text, &marker.base) || !take(text, " ") || text.empty() ||
      text.find('\n') != std::string_view::npos) {
    return std::nullopt;
  }
  if (take(text, kBuildIdField)) {  // pairs of hex digits, then a space before the path
    size_t space = text.find(' ');
    if (space == std::string_view::npos || space == 0 || space % 2 != 0 ||
        space / 2 > kMaxBuildIdBytes) {
      return std::nullopt;
    }
    for (size_t i = 0; i < space; i += 2) {
      int high = hex_digit(text[i]);
      int low = hex_digit(text[i + 1]);
      if (high < 0 || low < 0) return std::nullopt;
      marker.build_id += static_cast<char>(high * 16 + low);
    }
    text.remove_prefix(space + 1);
    if (text.empty()) return std::nullopt;
  }
  marker.path = std::string(text);
  return marker;
}

std::string format_architecture_marker(const ArchitectureMarker& marker) {
  std::string text(kArchitecturePrefix);
  text += std::to_string(marker.pid);
  text += ' ';
  text += marker.name;
  text += '\n';
  return text;
}

std::optional<ArchitectureMarker> parse_architecture_marker(std::string_view text) {
  text = without_newline(text);
  ArchitectureMarker marker;
  if (!take(text, kArchitecturePrefix) || !take_decimal(text, &marker.pid) || !take(text, " ") ||
      text.empty() || text.size() > kMaxArchitectureName) {
    return std::nullopt;
  }
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return std::nullopt;
  }
  marker.name = std::string(text);
  return marker;
}

std::string format_pci_config_marker(const PciConfigMarker& marker) {
  static const char kDigits[] = "0123456789abcdef";
  char offset[24];
  snprintf(offset, sizeof(offset), " 0x%" PRIx32 " ", marker.offset);
  std::string text(kPciPrefix);
  text += marker.function;
  text += kPciConfigInfix;
  text += marker.kind;
  text += offset;
  for (char c : marker.bytes) {
    auto byte = static_cast<unsigned char>(c);
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  text += '\n';
  return text;
}

std::optional<PciConfigMarker> parse_pci_config_marker(std::string_view text) {
  text = without_newline(text);
  PciConfigMarker marker;
  if (!take(text, kPciPrefix)) return std::nullopt;
  size_t infix = text.find(kPciConfigInfix);
  if (infix == std::string_view::npos || infix == 0) return std::nullopt;
  marker.function = std::string(text.substr(0, infix));
  text.remove_prefix(infix + kPciConfigInfix.size());
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  marker.kind = std::string(text.substr(0, space));
  text.remove_prefix(space + 1);
  uint64_t offset = 0;
  if (!take_hex(text, &offset) || !take(text, " ") || offset > UINT32_MAX) return std::nullopt;
  marker.offset = static_cast<uint32_t>(offset);
  if (text.size() % 2 != 0 || text.size() / 2 > kMaxPciConfigMarkerBytes) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    int high = nibble(text[i]);
    int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    marker.bytes += static_cast<char>(high << 4 | low);
  }
  if (marker.offset + marker.bytes.size() > kPciConfigSpaceSize) {
    return std::nullopt;  // past any configuration space: not a marker mmiotrace writes
  }
  return marker;
}

std::string format_vfio_marker(const VfioMarker& marker) {
  std::string text(kVfioPrefix);
  text += marker.subject;
  text += ' ';
  text += marker.action;
  for (uint64_t value : marker.values) {
    char number[24];
    snprintf(number, sizeof(number), " 0x%" PRIx64, value);
    text += number;
  }
  text += '\n';
  return text;
}

std::optional<VfioMarker> parse_vfio_marker(std::string_view text) {
  text = without_newline(text);
  if (!take(text, kVfioPrefix)) return std::nullopt;
  VfioMarker marker;
  size_t space = text.find(' ');
  if (space == 0 || space == std::string_view::npos) return std::nullopt;
  marker.subject = std::string(text.substr(0, space));
  text.remove_prefix(space + 1);
  space = text.find(' ');
  marker.action = std::string(text.substr(0, space));
  if (marker.action.empty()) return std::nullopt;
  text.remove_prefix(space == std::string_view::npos ? text.size() : space);
  while (!text.empty()) {
    uint64_t value = 0;
    if (!take(text, " ") || !take_hex(text, &value)) return std::nullopt;
    marker.values.push_back(value);
  }
  return marker;
}

}  // namespace mmiotrace::trace
