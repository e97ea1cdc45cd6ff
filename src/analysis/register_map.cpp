// Register maps: the lookup of the registers an access touches, the decoding of its value into
// fields, and the choice of a reader for a file.
#include "analysis/register_map.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "analysis/register_map_support.hpp"
#include "core/hex_text.hpp"

namespace mmiotrace::analysis {

namespace {

// Control characters would break the one-line rule of messages.
std::string without_control_characters(const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return line;
}

uint64_t low_bits(unsigned bits) {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

std::string bit_range(unsigned high, unsigned low) {
  return "[" + std::to_string(high) + ":" + std::to_string(low) + "]";
}

bool usage_fits(ValueUsage usage, AccessDirection direction) {
  switch (direction) {
    case AccessDirection::Read:
      return usage != ValueUsage::Write;
    case AccessDirection::Write:
      return usage != ValueUsage::Read;
    case AccessDirection::Unknown:
      break;
  }
  return true;
}

// The name of the enumerated value of `field` that `value` is, or nullptr.
const std::string* value_name(const Field& field, uint64_t value, AccessDirection direction) {
  const EnumeratedValue* fallback = nullptr;
  for (const EnumeratedValue& entry : field.values) {
    if (!usage_fits(entry.usage, direction)) continue;
    if (entry.is_default) {
      if (fallback == nullptr) fallback = &entry;
    } else if ((entry.value & ~entry.dont_care) == (value & ~entry.dont_care)) {
      return &entry.name;
    }
  }
  return fallback != nullptr ? &fallback->name : nullptr;
}

std::string lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower)
    c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::optional<RegisterMapFormat> format_by_extension(const std::string& path) {
  std::string lower = lowercase(path);
  if (lower.ends_with(".svd") || lower.ends_with(".xml")) return RegisterMapFormat::Svd;
  if (lower.ends_with(".json")) return RegisterMapFormat::Json;
  if (lower.ends_with(".yaml") || lower.ends_with(".yml")) return RegisterMapFormat::Yaml;
  return std::nullopt;
}

RegisterMapFormat format_by_content(std::string_view start) {
  if (start.substr(0, 3) == "\xEF\xBB\xBF") start.remove_prefix(3);  // a UTF-8 byte order mark
  size_t first = start.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && start[first] == '<') return RegisterMapFormat::Svd;
  if (first != std::string_view::npos && start[first] == '{') return RegisterMapFormat::Json;
  return RegisterMapFormat::Yaml;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

RegisterMapError::RegisterMapError(const std::string& message)
    : std::runtime_error(without_control_characters(message)) {}

RegisterMap::RegisterMap(std::string source, std::string device, std::vector<RegisterBlock> blocks)
    : source_(std::move(source)), device_(std::move(device)), blocks_(std::move(blocks)) {
  index();
}

void RegisterMap::index() {
  spans_.clear();
  block_spans_.clear();
  block_last_max_.clear();
  block_of_.clear();
  size_t order = 0;
  for (size_t b = 0; b < blocks_.size(); b++) {
    const RegisterBlock& block = blocks_[b];
    bool spans = block.size != 0;
    uint64_t last_offset = block.size - 1;  // of the block's last byte, when `spans`
    for (const Register& reg : block.registers) {
      block_of_[&reg] = &block;
      uint64_t first = block.base + reg.offset;
      uint64_t last = first + (reg.size_bytes() - 1);
      if (reg.offset > UINT64_MAX - block.base || first > UINT64_MAX - (reg.size_bytes() - 1)) {
        continue;  // past the top of the address space
      }
      spans_.push_back({first, last, order++, &reg, &block});
      uint64_t reg_last_offset = reg.offset + (reg.size_bytes() - 1);
      last_offset = spans ? std::max(last_offset, reg_last_offset) : reg_last_offset;
      spans = true;
    }
    if (!spans) continue;
    uint64_t last = last_offset > UINT64_MAX - block.base ? UINT64_MAX : block.base + last_offset;
    block_spans_.push_back({block.base, last, b, &block});
  }
  std::stable_sort(spans_.begin(), spans_.end(),
                   [](const Span& a, const Span& b) { return a.first < b.first; });
  // A register that starts where an earlier one (in the map's order) starts, and ends no later,
  // can never be the first to hold an access: drop it, so that at most 8 spans start at any
  // address and a lookup stays short however many registers a map stacks on one address.
  size_t kept = 0;
  for (size_t i = 0; i < spans_.size(); ++i) {
    size_t group = kept;
    while (group > 0 && spans_[group - 1].first == spans_[i].first)
      --group;
    bool dominated = false;
    for (size_t k = group; k < kept && !dominated; ++k)
      dominated = spans_[k].last >= spans_[i].last;
    if (!dominated) spans_[kept++] = spans_[i];
  }
  spans_.resize(kept);
  std::stable_sort(block_spans_.begin(), block_spans_.end(),
                   [](const BlockSpan& a, const BlockSpan& b) { return a.first < b.first; });
  uint64_t highest = 0;
  for (const BlockSpan& span : block_spans_) {
    highest = std::max(highest, span.last);
    block_last_max_.push_back(highest);
  }
}

const RegisterMap::Span* RegisterMap::first_containing(uint64_t first, uint64_t last) const {
  // Registers are at most 8 bytes: one that holds byte `first` starts at most 7 bytes before it.
  uint64_t lowest_start = first >= 7 ? first - 7 : 0;
  auto it = std::lower_bound(spans_.begin(), spans_.end(), lowest_start,
                             [](const Span& span, uint64_t start) { return span.first < start; });
  const Span* best = nullptr;
  for (; it != spans_.end() && it->first <= first; ++it) {
    if (it->last >= last && (best == nullptr || it->order < best->order)) best = &*it;
  }
  return best;
}

const Register* RegisterMap::find(uint64_t address, uint32_t width) const {
  if (width == 0) width = 1;
  uint64_t last = address > UINT64_MAX - (width - 1) ? UINT64_MAX : address + (width - 1);
  const Span* span = first_containing(address, last);
  return span != nullptr ? span->reg : nullptr;
}

const RegisterBlock& RegisterMap::block_of(const Register& reg) const {
  return *block_of_.at(&reg);
}

const RegisterBlock* RegisterMap::find_block(uint64_t address) const {
  auto end =
      std::upper_bound(block_spans_.begin(), block_spans_.end(), address,
                       [](uint64_t wanted, const BlockSpan& span) { return wanted < span.first; });
  const BlockSpan* best = nullptr;
  for (size_t i = static_cast<size_t>(end - block_spans_.begin()); i-- > 0;) {
    if (block_last_max_[i] < address) break;  // no block from here down reaches `address`
    const BlockSpan& span = block_spans_[i];
    if (span.last >= address && (best == nullptr || span.order < best->order)) best = &span;
  }
  return best != nullptr ? best->block : nullptr;
}

std::string RegisterMap::decode(const Register& reg, uint64_t value, unsigned width_bytes,
                                uint64_t address, AccessDirection direction) const {
  const RegisterBlock& block = block_of(reg);
  std::string text = block.name + "." + reg.name;
  uint64_t reg_first = block.base + reg.offset;
  unsigned reg_bytes = reg.size_bytes();
  if (address < reg_first || address - reg_first >= reg_bytes || width_bytes == 0) return text;
  auto first_byte = static_cast<unsigned>(address - reg_first);
  unsigned bytes = std::min({width_bytes, reg_bytes - first_byte, 8u});
  unsigned low = first_byte * 8;  // the register's bits the access covers
  unsigned high = low + bytes * 8 - 1;
  value &= low_bits(bytes * 8);
  if (bytes != reg_bytes) text += bit_range(high, low);

  std::vector<const Field*> fields;
  for (const Field& field : reg.fields)
    fields.push_back(&field);
  std::stable_sort(fields.begin(), fields.end(),
                   [](const Field* a, const Field* b) { return a->bit_offset < b->bit_offset; });
  for (const Field* field : fields) {
    unsigned field_low = field->bit_offset;
    unsigned field_high = field->bit_offset + field->bit_width - 1;
    if (field_high < low || field_low > high) continue;  // not touched
    unsigned shown_low = std::max(field_low, low);
    unsigned shown_high = std::min(field_high, high);
    uint64_t part = (value >> (shown_low - low)) & low_bits(shown_high - shown_low + 1);
    text += " " + field->name;
    if (shown_low == field_low && shown_high == field_high) {
      const std::string* name = value_name(*field, part, direction);
      text += "=" + (name != nullptr ? *name : hex_text(part));
    } else {
      text += bit_range(shown_high - field_low, shown_low - field_low) + "=" + hex_text(part);
    }
  }
  return text;
}

std::string RegisterMap::describe(uint64_t address, unsigned width_bytes, uint64_t value,
                                  AccessDirection direction) const {
  if (width_bytes == 0) return "";
  width_bytes = std::min(width_bytes, 8u);
  if (const Register* reg = find(address, width_bytes)) {
    return decode(*reg, value, width_bytes, address, direction);
  }
  // The access spans registers (or gaps between them): each piece by the first register that
  // holds its first byte.
  uint64_t last =
      address > UINT64_MAX - (width_bytes - 1) ? UINT64_MAX : address + (width_bytes - 1);
  std::string text;
  uint64_t at = address;
  while (true) {
    const Span* span = first_containing(at, at);
    uint64_t piece_last;
    if (span != nullptr) {
      piece_last = std::min(last, span->last);
      auto shift = static_cast<unsigned>(at - address) * 8;
      uint64_t piece = shift >= 64 ? 0 : value >> shift;
      auto piece_bytes = static_cast<unsigned>(piece_last - at + 1);
      if (!text.empty()) text += "; ";
      text += decode(*span->reg, piece, piece_bytes, at, direction);
    } else {
      piece_last = at;  // a byte no register holds
    }
    if (piece_last >= last) break;
    at = piece_last + 1;
  }
  if (!text.empty()) return text;
  if (const RegisterBlock* block = find_block(address)) {
    return block->name + "+" + hex_text(address - block->base);
  }
  return "";
}

uint64_t RegisterMap::lowest_base() const {
  if (blocks_.empty()) return 0;
  uint64_t lowest = UINT64_MAX;
  for (const RegisterBlock& block : blocks_)
    lowest = std::min(lowest, block.base);
  return lowest;
}

RegisterMap RegisterMap::moved_to(uint64_t address) const {
  uint64_t delta = address - lowest_base();  // modulo 2^64: moves down as well as up
  std::vector<RegisterBlock> moved = blocks_;
  for (RegisterBlock& block : moved)
    block.base += delta;
  return RegisterMap(source_, device_, std::move(moved));
}

RegisterMap parse_register_map(std::string_view text, RegisterMapFormat format,
                               const std::string& file_name) {
  switch (format) {
    case RegisterMapFormat::Svd:
      return parse_svd(text, file_name);
    case RegisterMapFormat::Json:
      return parse_json_register_map(text, file_name);
    case RegisterMapFormat::Yaml:
      break;
  }
  return parse_yaml_register_map(text, file_name);
}

RegisterMap load_register_map(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw RegisterMapError(path + ": cannot open: " + strerror(errno));
  std::optional<RegisterMapFormat> format = format_by_extension(path);
  if (format == RegisterMapFormat::Svd) return map_support::read_svd_stream(file.get(), path);

  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    text.append(buffer, got);
    if (!format && text.size() >= 64) format = format_by_content(text);
    if (format == RegisterMapFormat::Svd) break;  // the rest is read by the SVD reader
  }
  if (std::ferror(file.get())) throw RegisterMapError(path + ": cannot read: " + strerror(errno));
  if (!format) format = format_by_content(text);
  if (format == RegisterMapFormat::Svd) {
    std::rewind(file.get());
    return map_support::read_svd_stream(file.get(), path);
  }
  return parse_register_map(text, *format, path);
}

namespace map_support {

TextPosition position_of(std::string_view text, size_t offset) {
  TextPosition position;
  offset = std::min(offset, text.size());
  for (size_t i = 0; i < offset; i++) {
    if (text[i] == '\n') {
      position.line++;
      position.column = 1;
    } else {
      position.column++;
    }
  }
  return position;
}

void fail_at(const std::string& file, size_t line, size_t column, const std::string& what) {
  throw RegisterMapError(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         what);
}

std::string quote_for_message(std::string_view text) {
  std::string shown = "'";
  for (size_t i = 0; i < text.size() && i < 60; i++) {
    auto c = static_cast<unsigned char>(text[i]);
    shown += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
  }
  if (text.size() > 60) shown += "...";
  return shown + "'";
}

std::optional<uint64_t> parse_digits(std::string_view digits, unsigned base) {
  if (digits.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    if (digit >= base || value > (UINT64_MAX - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  return value;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == ';' || c == '=') return false;
  }
  return true;
}

std::optional<RegisterAccess> parse_access(std::string_view text, bool short_forms) {
  if (text == "read-write") return RegisterAccess::ReadWrite;
  if (text == "read-only") return RegisterAccess::ReadOnly;
  if (text == "write-only") return RegisterAccess::WriteOnly;
  if (text == "writeOnce") return RegisterAccess::WriteOnce;
  if (text == "read-writeOnce") return RegisterAccess::ReadWriteOnce;
  if (!short_forms) return std::nullopt;
  if (text == "rw") return RegisterAccess::ReadWrite;
  if (text == "ro") return RegisterAccess::ReadOnly;
  if (text == "wo") return RegisterAccess::WriteOnly;
  if (text == "w1") return RegisterAccess::WriteOnce;
  if (text == "rw1") return RegisterAccess::ReadWriteOnce;
  return std::nullopt;
}

}  // namespace map_support

}  // namespace mmiotrace::analysis
