// mmiotrace's own register map format, in JSON (nlohmann_json) and in YAML (yaml-cpp): both are
// read into one document tree that keeps the line and column of every value, then checked and
// turned into a RegisterMap by one set of rules (docs/register-maps.md). (Declared in
// register_map.hpp, beside the other formats' readers: callers choose among them there.)
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "analysis/register_map.hpp"
#include "analysis/register_map_support.hpp"

namespace mmiotrace::analysis {

namespace {

using map_support::fail_at;
using map_support::parse_digits;
using map_support::quote_for_message;

// Deeper documents are refused: the format needs 7 levels, and the tree is freed recursively.
constexpr size_t kMaxDepth = 64;
// More values than this (a YAML alias bomb) are refused.
constexpr size_t kMaxNodes = size_t{1} << 21;

// A value of the document, where it starts in the file.
struct DocumentNode {
  enum class Kind { Object, Array, String, Number, Other };
  struct Key {
    std::string name;
    size_t line = 0;
    size_t column = 0;
  };
  Kind kind = Kind::Other;
  std::string text;  // String: the string; Number: its JSON text; Other: "null", "true"...
  size_t line = 0;
  size_t column = 0;
  std::vector<Key> keys;            // Object: keys[i] names items[i]
  std::vector<DocumentNode> items;  // Object, Array
};

// --- JSON -------------------------------------------------------------------------------------

// A character iterator that tells how many characters the parser has taken.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, const char* start, size_t* taken)
      : at_(at), start_(start), taken_(taken) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    ++at_;
    *taken_ = static_cast<size_t>(at_ - start_);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char* start_;
  size_t* taken_;
};

// Builds the document tree from nlohmann's SAX events. A value starts at the first character
// after the previous event that is not white space, ',' or ':' (a number's look-ahead character
// is never the start of a value).
class JsonTreeBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonTreeBuilder(std::string_view text) : text_(text) {}

  size_t* taken() { return &taken_; }
  DocumentNode& root() { return root_; }
  // Set when the document is refused: the byte offset and what is wrong.
  const std::optional<std::pair<size_t, std::string>>& error() const { return error_; }

  bool null() override { return scalar(DocumentNode::Kind::Other, "null"); }
  bool boolean(bool value) override {
    return scalar(DocumentNode::Kind::Other, value ? "true" : "false");
  }
  bool number_integer(number_integer_t value) override {
    return scalar(DocumentNode::Kind::Number, std::to_string(value));
  }
  bool number_unsigned(number_unsigned_t value) override {
    return scalar(DocumentNode::Kind::Number, std::to_string(value));
  }
  bool number_float(number_float_t, const string_t& text) override {
    return scalar(DocumentNode::Kind::Number, text);
  }
  bool string(string_t& value) override {
    return scalar(DocumentNode::Kind::String, std::move(value));
  }
  bool binary(binary_t&) override { return scalar(DocumentNode::Kind::Other, "binary"); }
  bool start_object(std::size_t) override { return open(DocumentNode::Kind::Object); }
  bool start_array(std::size_t) override { return open(DocumentNode::Kind::Array); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    value_start();
    DocumentNode::Key key{std::move(name), position_.line, position_.column};
    open_.back()->keys.push_back(std::move(key));
    event_end_ = taken_;
    return true;
  }
  bool parse_error(std::size_t byte, const std::string&,
                   const nlohmann::detail::exception& error) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: what": keep "what".
    std::string what = error.what();
    size_t after = what.find(": ", what.find("parse error"));
    if (after != std::string::npos) what = what.substr(after + 2);
    error_ = {byte > 0 ? byte - 1 : 0, "JSON: " + what};
    return false;
  }

 private:
  // Moves `position_` to where the next value starts, and returns its offset.
  size_t value_start() {
    size_t start = event_end_;
    while (start < text_.size() &&
           std::string_view(" \t\r\n,:").find(text_[start]) != std::string_view::npos) {
      start++;
    }
    for (; scanned_ < start && scanned_ < text_.size(); scanned_++) {
      if (text_[scanned_] == '\n') {
        position_.line++;
        position_.column = 1;
      } else {
        position_.column++;
      }
    }
    return start;
  }
  DocumentNode* add(DocumentNode::Kind kind) {
    value_start();
    DocumentNode* node;
    if (open_.empty()) {
      node = &root_;
    } else {
      open_.back()->items.emplace_back();
      node = &open_.back()->items.back();
    }
    node->kind = kind;
    node->line = position_.line;
    node->column = position_.column;
    return node;
  }
  bool scalar(DocumentNode::Kind kind, std::string text) {
    add(kind)->text = std::move(text);
    event_end_ = taken_;
    return true;
  }
  bool open(DocumentNode::Kind kind) {
    if (open_.size() >= kMaxDepth) {
      error_ = {value_start(), "JSON: nested deeper than " + std::to_string(kMaxDepth) + " levels"};
      return false;
    }
    // Only the innermost open container grows, so the pointers to its ancestors stay valid.
    open_.push_back(add(kind));
    event_end_ = taken_;
    return true;
  }
  bool close() {
    open_.pop_back();
    event_end_ = taken_;
    return true;
  }

  std::string_view text_;
  size_t taken_ = 0;      // characters the parser has read
  size_t event_end_ = 0;  // ... when the previous event came
  size_t scanned_ = 0;    // where position_ is
  map_support::TextPosition position_;
  DocumentNode root_;
  std::vector<DocumentNode*> open_;
  std::optional<std::pair<size_t, std::string>> error_;
};

DocumentNode json_document(std::string_view text, const std::string& file_name) {
  JsonTreeBuilder builder(text);
  CountingIterator first(text.data(), text.data(), builder.taken());
  CountingIterator last(text.data() + text.size(), text.data(), builder.taken());
  bool parsed = nlohmann::json::sax_parse(first, last, &builder);
  if (!parsed || builder.error()) {
    size_t offset = builder.error() ? builder.error()->first : 0;
    std::string what = builder.error() ? builder.error()->second : "JSON: cannot be parsed";
    map_support::TextPosition position = map_support::position_of(text, offset);
    fail_at(file_name, position.line, position.column, what);
  }
  return std::move(builder.root());
}

// --- YAML -------------------------------------------------------------------------------------

class YamlTreeBuilder {
 public:
  explicit YamlTreeBuilder(const std::string& file_name) : file_name_(file_name) {}

  DocumentNode convert(const YAML::Node& yaml, size_t depth) {
    DocumentNode node;
    YAML::Mark mark = yaml.Mark();
    node.line = mark.is_null() ? 1 : static_cast<size_t>(mark.line) + 1;
    node.column = mark.is_null() ? 1 : static_cast<size_t>(mark.column) + 1;
    if (++nodes_ > kMaxNodes) {
      fail_at(file_name_, node.line, node.column,
              "YAML: more than " + std::to_string(kMaxNodes) + " values (aliases?)");
    }
    if (depth >= kMaxDepth) {
      fail_at(file_name_, node.line, node.column,
              "YAML: nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    switch (yaml.Type()) {
      case YAML::NodeType::Scalar:
        node.kind = DocumentNode::Kind::String;
        node.text = yaml.Scalar();
        break;
      case YAML::NodeType::Sequence:
        node.kind = DocumentNode::Kind::Array;
        for (const YAML::Node& item : yaml)
          node.items.push_back(convert(item, depth + 1));
        break;
      case YAML::NodeType::Map:
        node.kind = DocumentNode::Kind::Object;
        for (const auto& member : yaml) {
          YAML::Mark key_mark = member.first.Mark();
          DocumentNode::Key key;
          key.line = key_mark.is_null() ? node.line : static_cast<size_t>(key_mark.line) + 1;
          key.column = key_mark.is_null() ? node.column : static_cast<size_t>(key_mark.column) + 1;
          if (!member.first.IsScalar()) {
            fail_at(file_name_, key.line, key.column, "YAML: a key must be a plain string");
          }
          key.name = member.first.Scalar();
          DocumentNode value = convert(member.second, depth + 1);
          if (member.second.IsNull() && value.line != key.line) {
            // yaml-cpp marks an empty value ("name:") where the next token starts.
            value.line = key.line;
            value.column = key.column;
          }
          node.keys.push_back(std::move(key));
          node.items.push_back(std::move(value));
        }
        break;
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        node.kind = DocumentNode::Kind::Other;
        node.text = "null";
        break;
    }
    return node;
  }

 private:
  const std::string& file_name_;
  size_t nodes_ = 0;
};

// Where the flow brackets of `text` first open more than kMaxDepth levels, or nullopt.
std::optional<size_t> too_deep_offset(std::string_view text) {
  size_t depth = 0;
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] == '[' || text[i] == '{') {
      if (++depth > kMaxDepth) return i;
    } else if ((text[i] == ']' || text[i] == '}') && depth > 0) {
      depth--;
    }
  }
  return std::nullopt;
}

DocumentNode yaml_document(std::string_view text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& error) {
    // yaml-cpp stops at 2000 levels, saying "bad file", often at 0:0.
    size_t line = error.mark.is_null() ? 1 : static_cast<size_t>(error.mark.line) + 1;
    size_t column = error.mark.is_null() ? 1 : static_cast<size_t>(error.mark.column) + 1;
    if (std::optional<size_t> offset = too_deep_offset(text)) {
      map_support::TextPosition position = map_support::position_of(text, *offset);
      line = position.line;
      column = position.column;
    }
    fail_at(file_name, line, column,
            "YAML: nested deeper than " + std::to_string(kMaxDepth) + " levels");
  } catch (const YAML::Exception& error) {
    size_t line = error.mark.is_null() ? 1 : static_cast<size_t>(error.mark.line) + 1;
    size_t column = error.mark.is_null() ? 1 : static_cast<size_t>(error.mark.column) + 1;
    fail_at(file_name, line, column, "YAML: " + error.msg);
  } catch (const std::exception& error) {
    fail_at(file_name, 1, 1, std::string("YAML: ") + error.what());
  }
  return YamlTreeBuilder(file_name).convert(root, 0);
}

// --- The format -------------------------------------------------------------------------------

std::string bits_text(unsigned high, unsigned low) {
  return high == low ? std::to_string(low) : std::to_string(high) + ":" + std::to_string(low);
}

// Decimal, 0x hexadecimal or 0b binary.
std::optional<uint64_t> parse_number(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return parse_digits(text.substr(2), 16);
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B')) {
    return parse_digits(text.substr(2), 2);
  }
  return parse_digits(text, 10);
}

// Checks a document tree against the format and makes the map. Every error names the place:
// "FILE:LINE:COLUMN: blocks[0].registers[1]: what".
class MapDocumentReader {
 public:
  explicit MapDocumentReader(const std::string& file_name) : file_name_(file_name) {}

  RegisterMap read(const DocumentNode& root) {
    expect(root, DocumentNode::Kind::Object, "");
    check_keys(root, "", {"device", "description", "blocks"});
    std::string device;
    if (const DocumentNode* name = member(root, "device")) device = string_of(*name, "device");
    if (const DocumentNode* text = member(root, "description")) string_of(*text, "description");
    const DocumentNode& blocks = required(root, "", "blocks");
    expect(blocks, DocumentNode::Kind::Array, "blocks");
    std::vector<RegisterBlock> read_blocks;
    std::set<std::string> names;
    for (size_t i = 0; i < blocks.items.size(); i++) {
      std::string path = "blocks[" + std::to_string(i) + "]";
      read_blocks.push_back(block(blocks.items[i], path));
      if (!names.insert(read_blocks.back().name).second) {
        fail(blocks.items[i], path,
             "block name " + quote_for_message(read_blocks.back().name) + " appears twice");
      }
    }
    return RegisterMap(file_name_, device, std::move(read_blocks));
  }

 private:
  [[noreturn]] void fail(size_t line, size_t column, const std::string& path,
                         const std::string& what) const {
    fail_at(file_name_, line, column, path.empty() ? what : path + ": " + what);
  }
  [[noreturn]] void fail(const DocumentNode& at, const std::string& path,
                         const std::string& what) const {
    fail(at.line, at.column, path, what);
  }

  static const char* kind_name(DocumentNode::Kind kind) {
    switch (kind) {
      case DocumentNode::Kind::Object:
        return "an object (KEY: VALUE)";
      case DocumentNode::Kind::Array:
        return "a list";
      case DocumentNode::Kind::String:
        return "a string";
      case DocumentNode::Kind::Number:
        return "a number";
      case DocumentNode::Kind::Other:
        break;
    }
    return "a value";
  }

  void expect(const DocumentNode& node, DocumentNode::Kind kind, const std::string& path) const {
    if (node.kind == kind) return;
    std::string got = node.kind == DocumentNode::Kind::Other ? node.text : kind_name(node.kind);
    fail(node, path, std::string("expected ") + kind_name(kind) + ", not " + got);
  }

  // No key twice, and none but `allowed`: a misspelt key must not pass unnoticed.
  void check_keys(const DocumentNode& object, const std::string& path,
                  std::initializer_list<std::string_view> allowed) const {
    for (size_t i = 0; i < object.keys.size(); i++) {
      const DocumentNode::Key& key = object.keys[i];
      if (std::find(allowed.begin(), allowed.end(), key.name) == allowed.end()) {
        std::string known;
        for (std::string_view name : allowed)
          known += (known.empty() ? "" : ", ") + std::string(name);
        fail(key.line, key.column, path,
             "unknown key " + quote_for_message(key.name) + " (known: " + known + ")");
      }
      for (size_t j = 0; j < i; j++) {
        if (object.keys[j].name == key.name) {
          fail(key.line, key.column, path, "key " + quote_for_message(key.name) + " appears twice");
        }
      }
    }
  }

  static const DocumentNode* member(const DocumentNode& object, std::string_view key) {
    for (size_t i = 0; i < object.keys.size(); i++) {
      if (object.keys[i].name == key) return &object.items[i];
    }
    return nullptr;
  }

  static std::string member_path(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  const DocumentNode& required(const DocumentNode& object, const std::string& path,
                               std::string_view key) const {
    const DocumentNode* value = member(object, key);
    if (value == nullptr) fail(object, path, "missing '" + std::string(key) + "'");
    return *value;
  }

  std::string string_of(const DocumentNode& node, const std::string& path) const {
    expect(node, DocumentNode::Kind::String, path);
    return node.text;
  }

  std::string name_of(const DocumentNode& node, const std::string& path) const {
    std::string name = string_of(node, path);
    if (!map_support::valid_name(name)) {
      fail(node, path,
           quote_for_message(name) + " is not a name (no spaces, control characters, ';' or '=')");
    }
    return name;
  }

  uint64_t number_of(const DocumentNode& node, const std::string& path) const {
    if (node.kind != DocumentNode::Kind::Number && node.kind != DocumentNode::Kind::String) {
      expect(node, DocumentNode::Kind::Number, path);
    }
    std::optional<uint64_t> value = parse_number(node.text);
    if (!value) {
      fail(node, path,
           quote_for_message(node.text) +
               " is not a number (decimal, 0x hexadecimal or 0b binary, 0 to "
               "2^64-1)");
    }
    return *value;
  }

  std::optional<RegisterAccess> access_of(const DocumentNode& object,
                                          const std::string& path) const {
    const DocumentNode* node = member(object, "access");
    if (node == nullptr) return std::nullopt;
    std::string text = string_of(*node, member_path(path, "access"));
    std::optional<RegisterAccess> access = map_support::parse_access(text, true);
    if (!access) {
      fail(*node, member_path(path, "access"),
           quote_for_message(text) +
               " is not an access (rw, ro, wo, w1, rw1, or SVD's read-write, "
               "read-only, write-only, writeOnce, read-writeOnce)");
    }
    return access;
  }

  RegisterBlock block(const DocumentNode& node, const std::string& path) {
    expect(node, DocumentNode::Kind::Object, path);
    check_keys(node, path, {"name", "base", "size", "description", "registers"});
    RegisterBlock block;
    block.name = name_of(required(node, path, "name"), member_path(path, "name"));
    if (const DocumentNode* base = member(node, "base")) {
      block.base = number_of(*base, member_path(path, "base"));
    }
    const DocumentNode* size = member(node, "size");
    if (size != nullptr) block.size = number_of(*size, member_path(path, "size"));
    if (const DocumentNode* text = member(node, "description")) {
      block.description = string_of(*text, member_path(path, "description"));
    }
    const DocumentNode& registers = required(node, path, "registers");
    expect(registers, DocumentNode::Kind::Array, member_path(path, "registers"));
    for (size_t i = 0; i < registers.items.size(); i++) {
      std::string reg_path = path + ".registers[" + std::to_string(i) + "]";
      const DocumentNode& item = registers.items[i];
      Register reg = register_of(item, reg_path);
      for (const Register& earlier : block.registers) {
        if (earlier.name == reg.name) {
          fail(item, reg_path,
               "register name " + quote_for_message(reg.name) + " appears twice in the block");
        }
      }
      uint64_t end = reg.offset + reg.size_bytes();
      if (reg.offset > UINT64_MAX - reg.size_bytes() || end - 1 > UINT64_MAX - block.base) {
        fail(item, reg_path, "the register passes the top of the 64-bit address space");
      }
      if (size != nullptr && end > block.size) {
        fail(item, reg_path,
             "the register (offset " + std::to_string(reg.offset) + ", " +
                 std::to_string(reg.size_bytes()) + " bytes) lies outside the " +
                 std::to_string(block.size) + "-byte block");
      }
      if (++registers_ > map_support::kMaxRegisters) fail(item, reg_path, "too many registers");
      block.registers.push_back(std::move(reg));
    }
    return block;
  }

  Register register_of(const DocumentNode& node, const std::string& path) const {
    expect(node, DocumentNode::Kind::Object, path);
    check_keys(node, path, {"name", "offset", "size", "access", "reset", "description", "fields"});
    Register reg;
    reg.name = name_of(required(node, path, "name"), member_path(path, "name"));
    reg.offset = number_of(required(node, path, "offset"), member_path(path, "offset"));
    if (const DocumentNode* size = member(node, "size")) {
      uint64_t bits = number_of(*size, member_path(path, "size"));
      if (bits < 8 || bits > 64 || bits % 8 != 0) {
        fail(*size, member_path(path, "size"),
             std::to_string(bits) + " is not a register size (8, 16, 24... 64 bits)");
      }
      reg.size_bits = static_cast<unsigned>(bits);
    }
    if (auto access = access_of(node, path)) reg.access = *access;
    if (const DocumentNode* reset = member(node, "reset")) {
      reg.reset_value = number_of(*reset, member_path(path, "reset"));
      if (reg.size_bits < 64 && (*reg.reset_value >> reg.size_bits) != 0) {
        fail(*reset, member_path(path, "reset"),
             "reset value " + reset->text + " does not fit in " + std::to_string(reg.size_bits) +
                 " bits");
      }
    }
    if (const DocumentNode* text = member(node, "description")) {
      reg.description = string_of(*text, member_path(path, "description"));
    }
    if (const DocumentNode* fields = member(node, "fields")) {
      expect(*fields, DocumentNode::Kind::Array, member_path(path, "fields"));
      for (size_t i = 0; i < fields->items.size(); i++) {
        std::string field_path = path + ".fields[" + std::to_string(i) + "]";
        const DocumentNode& item = fields->items[i];
        Field field = field_of(item, field_path, reg.size_bits, reg.access);
        unsigned high = field.bit_offset + field.bit_width - 1;
        for (const Field& earlier : reg.fields) {
          unsigned earlier_high = earlier.bit_offset + earlier.bit_width - 1;
          if (earlier.name == field.name) {
            fail(item, field_path,
                 "field name " + quote_for_message(field.name) + " appears twice");
          }
          if (field.bit_offset <= earlier_high && earlier.bit_offset <= high) {
            fail(item, field_path,
                 "bits " + bits_text(high, field.bit_offset) + " overlap field " +
                     quote_for_message(earlier.name) + " (bits " +
                     bits_text(earlier_high, earlier.bit_offset) + ")");
          }
        }
        reg.fields.push_back(std::move(field));
      }
    }
    return reg;
  }

  // A field without `access` has its register's, as in SVD.
  Field field_of(const DocumentNode& node, const std::string& path, unsigned register_bits,
                 RegisterAccess register_access) const {
    expect(node, DocumentNode::Kind::Object, path);
    check_keys(node, path, {"name", "bits", "access", "description", "values"});
    Field field;
    field.name = name_of(required(node, path, "name"), member_path(path, "name"));
    const DocumentNode& bits = required(node, path, "bits");
    std::string bits_path = member_path(path, "bits");
    if (bits.kind != DocumentNode::Kind::Number && bits.kind != DocumentNode::Kind::String) {
      expect(bits, DocumentNode::Kind::String, bits_path);
    }
    size_t colon = bits.text.find(':');
    std::optional<uint64_t> high = parse_digits(bits.text.substr(0, colon), 10);
    std::optional<uint64_t> low =
        colon == std::string::npos ? high : parse_digits(bits.text.substr(colon + 1), 10);
    if (!high || !low) {
      fail(bits, bits_path,
           quote_for_message(bits.text) + " is not a bit (\"5\") or bit range (\"7:4\")");
    }
    if (*high < *low) {
      fail(bits, bits_path,
           "bits " + bits.text + " run the wrong way: write the high bit first (" +
               std::to_string(*low) + ":" + std::to_string(*high) + ")");
    }
    if (*high >= register_bits) {
      fail(bits, path,
           "bits " + bits.text + " do not fit in a " + std::to_string(register_bits) +
               "-bit register");
    }
    field.bit_offset = static_cast<unsigned>(*low);
    field.bit_width = static_cast<unsigned>(*high - *low + 1);
    field.access = access_of(node, path).value_or(register_access);
    if (const DocumentNode* text = member(node, "description")) {
      field.description = string_of(*text, member_path(path, "description"));
    }
    if (const DocumentNode* values = member(node, "values")) {
      field.values = values_of(*values, member_path(path, "values"), field.bit_width);
    }
    return field;
  }

  // `values`: {NAME: VALUE, ...}, or [{name: NAME, value: VALUE, description: TEXT}, ...].
  std::vector<EnumeratedValue> values_of(const DocumentNode& node, const std::string& path,
                                         unsigned field_bits) const {
    std::vector<EnumeratedValue> values;
    std::set<std::string> names;
    auto check = [&](const EnumeratedValue& entry, const DocumentNode& name_at,
                     const DocumentNode& value_at, const std::string& entry_path) {
      if (!names.insert(entry.name).second) {
        fail(name_at, entry_path, "value name " + quote_for_message(entry.name) + " appears twice");
      }
      if (field_bits < 64 && (entry.value >> field_bits) != 0) {
        fail(value_at, entry_path,
             "value " + value_at.text + " does not fit in the " + std::to_string(field_bits) +
                 "-bit field");
      }
    };
    if (node.kind == DocumentNode::Kind::Object) {
      for (size_t i = 0; i < node.keys.size(); i++) {
        const DocumentNode::Key& key = node.keys[i];
        std::string entry_path = path + "." + key.name;
        if (!map_support::valid_name(key.name)) {
          fail(key.line, key.column, path,
               quote_for_message(key.name) +
                   " is not a name (no spaces, control characters, ';' or '=')");
        }
        EnumeratedValue entry;
        entry.name = key.name;
        entry.value = number_of(node.items[i], entry_path);
        DocumentNode name_at;
        name_at.line = key.line;
        name_at.column = key.column;
        check(entry, name_at, node.items[i], entry_path);
        values.push_back(std::move(entry));
      }
      return values;
    }
    expect(node, DocumentNode::Kind::Array, path);
    for (size_t i = 0; i < node.items.size(); i++) {
      const DocumentNode& item = node.items[i];
      std::string entry_path = path + "[" + std::to_string(i) + "]";
      expect(item, DocumentNode::Kind::Object, entry_path);
      check_keys(item, entry_path, {"name", "value", "description"});
      EnumeratedValue entry;
      const DocumentNode& name = required(item, entry_path, "name");
      entry.name = name_of(name, member_path(entry_path, "name"));
      const DocumentNode& value = required(item, entry_path, "value");
      entry.value = number_of(value, member_path(entry_path, "value"));
      if (const DocumentNode* text = member(item, "description")) {
        entry.description = string_of(*text, member_path(entry_path, "description"));
      }
      check(entry, name, value, entry_path);
      values.push_back(std::move(entry));
    }
    return values;
  }

  const std::string& file_name_;
  size_t registers_ = 0;
};

}  // namespace

RegisterMap parse_json_register_map(std::string_view text, const std::string& file_name) {
  DocumentNode root = json_document(text, file_name);
  return MapDocumentReader(file_name).read(root);
}

RegisterMap parse_yaml_register_map(std::string_view text, const std::string& file_name) {
  DocumentNode root = yaml_document(text, file_name);
  return MapDocumentReader(file_name).read(root);
}

}  // namespace mmiotrace::analysis
