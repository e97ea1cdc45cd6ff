// CMSIS-SVD register maps (docs/register-maps.md lists the subset): expat reads the file in
// pieces into a tree of only the elements mmiotrace uses, then derivedFrom, the inherited
// register properties, dim arrays and clusters are resolved into flat register blocks. (Declared in
// register_map.hpp and register_map_support.hpp, beside the other formats' readers.)
#include <expat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "analysis/register_map.hpp"
#include "analysis/register_map_support.hpp"

namespace mmiotrace::analysis {

namespace {

using map_support::parse_digits;
using map_support::quote_for_message;

constexpr size_t kMaxDepth = 64;     // clusters in clusters...: deeper files are refused
constexpr uint64_t kMaxDim = 65536;  // elements of one dim array
// Clusters, fields and enumerated values the flattened map may hold: a dim of fields in a dim
// of registers, or clusters derived from their own ancestors, are refused, not an out-of-memory.
constexpr size_t kMaxClusters = size_t{1} << 17;
constexpr size_t kMaxFieldsAndValues = size_t{1} << 20;

// An element of the file that mmiotrace uses, where it starts.
struct SvdElement {
  std::string tag;
  std::string text;  // character data of a leaf element, untrimmed
  std::optional<std::string> derived_from;
  size_t line = 0;
  size_t column = 0;
  std::vector<SvdElement> children;

  const SvdElement* child(std::string_view name) const {
    for (const SvdElement& element : children) {
      if (element.tag == name) return &element;
    }
    return nullptr;
  }
};

// Elements that hold other elements rather than text.
bool is_container(std::string_view tag) {
  static const std::set<std::string_view> containers = {
      "device",   "peripherals", "peripheral", "addressBlock",     "registers",      "cluster",
      "register", "fields",      "field",      "enumeratedValues", "enumeratedValue"};
  return containers.count(tag) != 0;
}

// Elements a parent may have more than one of.
bool is_repeatable(std::string_view tag) {
  static const std::set<std::string_view> repeatable = {
      "peripheral", "addressBlock",     "register",       "cluster",
      "field",      "enumeratedValues", "enumeratedValue"};
  return repeatable.count(tag) != 0;
}

// The elements read, by parent; all others (and everything inside them) are skipped.
bool is_kept(std::string_view parent, std::string_view tag) {
  static const std::map<std::string_view, std::set<std::string_view>> kept = {
      {"", {"device"}},
      {"device", {"name", "size", "access", "resetValue", "addressUnitBits", "peripherals"}},
      {"peripherals", {"peripheral"}},
      {"peripheral",
       {"name", "description", "baseAddress", "size", "access", "resetValue", "registers",
        "addressBlock", "dim", "dimIncrement", "dimIndex"}},
      {"addressBlock", {"offset", "size"}},
      {"registers", {"register", "cluster"}},
      {"cluster",
       {"name", "description", "addressOffset", "size", "access", "resetValue", "dim",
        "dimIncrement", "dimIndex", "register", "cluster"}},
      {"register",
       {"name", "description", "addressOffset", "size", "access", "resetValue", "dim",
        "dimIncrement", "dimIndex", "fields"}},
      {"fields", {"field"}},
      {"field",
       {"name", "description", "bitOffset", "bitWidth", "lsb", "msb", "bitRange", "access",
        "enumeratedValues", "dim", "dimIncrement", "dimIndex"}},
      {"enumeratedValues", {"name", "usage", "enumeratedValue"}},
      {"enumeratedValue", {"name", "description", "value", "isDefault"}},
  };
  auto found = kept.find(parent);
  return found != kept.end() && found->second.count(tag) != 0;
}

// Builds the element tree from expat's events. Errors inside a handler stop the parser (an
// exception must not unwind through expat) and are thrown by feed().
class SvdTreeBuilder {
 public:
  explicit SvdTreeBuilder(const std::string& file_name)
      : file_name_(file_name), parser_(XML_ParserCreate(nullptr)) {
    if (parser_ == nullptr) throw std::bad_alloc();
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, on_start, on_end);
    XML_SetCharacterDataHandler(parser_, on_text);
  }
  ~SvdTreeBuilder() { XML_ParserFree(parser_); }
  SvdTreeBuilder(const SvdTreeBuilder&) = delete;
  SvdTreeBuilder& operator=(const SvdTreeBuilder&) = delete;

  // Parses the next piece of the file; `last` for the end of it.
  void feed(const char* data, size_t size, bool last) {
    do {
      int piece = static_cast<int>(std::min<size_t>(size, 1 << 20));
      bool final_piece = last && static_cast<size_t>(piece) == size;
      if (XML_Parse(parser_, data, piece, final_piece ? XML_TRUE : XML_FALSE) != XML_STATUS_OK) {
        if (error_) throw RegisterMapError(*error_);
        map_support::fail_at(
            file_name_, XML_GetCurrentLineNumber(parser_), XML_GetCurrentColumnNumber(parser_) + 1,
            std::string("not well-formed XML: ") + XML_ErrorString(XML_GetErrorCode(parser_)));
      }
      data += piece;
      size -= static_cast<size_t>(piece);
    } while (size > 0);
  }

  // The <device> element, once the whole file has been fed.
  const SvdElement& device() const { return root_; }

 private:
  static void XMLCALL on_start(void* user, const XML_Char* name, const XML_Char** attributes) {
    static_cast<SvdTreeBuilder*>(user)->start(name, attributes);
  }
  static void XMLCALL on_end(void* user, const XML_Char*) {
    static_cast<SvdTreeBuilder*>(user)->end();
  }
  static void XMLCALL on_text(void* user, const XML_Char* text, int length) {
    auto* self = static_cast<SvdTreeBuilder*>(user);
    if (self->skipped_depth_ == 0 && !self->open_.empty() &&
        !is_container(self->open_.back()->tag)) {
      self->open_.back()->text.append(text, static_cast<size_t>(length));
    }
  }

  void refuse(size_t line, size_t column, const std::string& what) {
    if (error_) return;
    error_ = file_name_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + what;
    XML_StopParser(parser_, XML_FALSE);
  }

  void start(std::string_view tag, const XML_Char** attributes) {
    if (error_) return;
    if (skipped_depth_ > 0) {
      skipped_depth_++;
      return;
    }
    size_t line = XML_GetCurrentLineNumber(parser_);
    size_t column = XML_GetCurrentColumnNumber(parser_) + 1;
    std::string_view parent = open_.empty() ? std::string_view() : open_.back()->tag;
    if (open_.empty() && seen_root_) return;  // expat allows one root
    if (!is_kept(parent, tag)) {
      if (open_.empty()) {
        refuse(
            line, column,
            "not a CMSIS-SVD file: the root element is <" + std::string(tag) + ">, not <device>");
        return;
      }
      skipped_depth_ = 1;
      return;
    }
    if (open_.size() >= kMaxDepth) {
      refuse(line, column, "elements nested deeper than " + std::to_string(kMaxDepth) + " levels");
      return;
    }
    SvdElement* element;
    if (open_.empty()) {
      seen_root_ = true;
      element = &root_;
    } else {
      SvdElement& into = *open_.back();
      if (!is_repeatable(tag) && into.child(tag) != nullptr) {
        refuse(line, column, "<" + std::string(tag) + "> appears twice in <" + into.tag + ">");
        return;
      }
      // Only the innermost open element grows, so the pointers to its ancestors stay valid.
      into.children.emplace_back();
      element = &into.children.back();
    }
    element->tag = tag;
    element->line = line;
    element->column = column;
    for (size_t i = 0; attributes[i] != nullptr; i += 2) {
      if (std::strcmp(attributes[i], "derivedFrom") == 0) element->derived_from = attributes[i + 1];
    }
    open_.push_back(element);
  }

  void end() {
    if (error_) return;
    if (skipped_depth_ > 0) {
      skipped_depth_--;
    } else if (!open_.empty()) {
      open_.pop_back();
    }
  }

  const std::string& file_name_;
  XML_Parser parser_;
  SvdElement root_;
  bool seen_root_ = false;
  std::vector<SvdElement*> open_;
  size_t skipped_depth_ = 0;  // > 0 inside an element that is not kept
  std::optional<std::string> error_;
};

std::string trimmed(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

// Runs of white space as one space: SVD descriptions are wrapped and indented.
std::string one_spaced(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : trimmed(text)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// SVD numbers: decimal, 0x hexadecimal, #binary (and 0b binary), with an optional '+'.
std::optional<uint64_t> parse_svd_number(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return parse_digits(text.substr(2), 16);
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B')) {
    return parse_digits(text.substr(2), 2);
  }
  if (text.size() > 1 && text[0] == '#') return parse_digits(text.substr(1), 2);
  return parse_digits(text, 10);
}

// The register properties a level hands down to the levels inside it.
struct Properties {
  unsigned size_bits = 0;  // 0: not given (registers default to 32)
  std::optional<RegisterAccess> access;
  std::optional<uint64_t> reset_value;
};

// One element of a dim array (or the one element of a plain register).
struct Instance {
  std::string name;
  uint64_t index = 0;  // multiplies dimIncrement
};

// The levels derivedFrom can name.
enum class Level { Peripheral, Member, Field, Values };

class SvdConverter {
 public:
  SvdConverter(const std::string& file_name, const SvdElement& device)
      : file_name_(file_name), device_(device) {}

  RegisterMap convert() {
    if (device_.tag != "device") {
      map_support::fail_at(file_name_, 1, 1, "not a CMSIS-SVD file: no <device> element");
    }
    if (const SvdElement* unit = device_.child("addressUnitBits")) {
      if (number(*unit) != 8) fail(*unit, "addressUnitBits other than 8 are not supported");
    }
    index_value_sets(device_);
    Properties device_properties = properties(Properties(), device_);
    std::vector<RegisterBlock> blocks;
    if (const SvdElement* peripherals = device_.child("peripherals")) {
      for (const SvdElement& peripheral : peripherals->children) {
        add_peripheral(resolve(peripheral, *peripherals, Level::Peripheral), device_properties,
                       blocks);
      }
    }
    std::string device_name;
    if (const SvdElement* name = device_.child("name")) device_name = trimmed(name->text);
    return RegisterMap(file_name_, device_name, std::move(blocks));
  }

 private:
  [[noreturn]] void fail(const SvdElement& at, const std::string& what) const {
    map_support::fail_at(file_name_, at.line, at.column, what);
  }

  const SvdElement& required(const SvdElement& parent, std::string_view tag) const {
    const SvdElement* element = parent.child(tag);
    if (element == nullptr) {
      std::string name;
      if (const SvdElement* named = parent.child("name"))
        name = " " + quote_for_message(trimmed(named->text));
      fail(parent, "<" + parent.tag + ">" + name + " has no <" + std::string(tag) + ">");
    }
    return *element;
  }

  uint64_t number(const SvdElement& element) const {
    std::string text = trimmed(element.text);
    std::optional<uint64_t> value = parse_svd_number(text);
    if (!value) {
      if (!text.empty() && std::string_view("kKmMgGtT").find(text.back()) != std::string::npos) {
        fail(element, "<" + element.tag + "> " + quote_for_message(text) +
                          ": scaled numbers (k, M, G, T) are not supported");
      }
      fail(element, "<" + element.tag + "> " + quote_for_message(text) +
                        " is not a number (decimal, 0x hexadecimal or #binary, below 2^64)");
    }
    return *value;
  }

  std::string name_of(const SvdElement& parent) const {
    const SvdElement& element = required(parent, "name");
    std::string name = trimmed(element.text);
    if (!map_support::valid_name(name)) {
      fail(element,
           quote_for_message(name) + " is not a name (no spaces, control characters, ';' or '=')");
    }
    return name;
  }

  std::optional<RegisterAccess> access_of(const SvdElement& parent) const {
    const SvdElement* element = parent.child("access");
    if (element == nullptr) return std::nullopt;
    std::optional<RegisterAccess> access = map_support::parse_access(trimmed(element->text), false);
    if (!access) {
      fail(*element, quote_for_message(trimmed(element->text)) +
                         " is not an access (read-only, write-only, read-write, writeOnce, "
                         "read-writeOnce)");
    }
    return access;
  }

  Properties properties(Properties outer, const SvdElement& element) const {
    if (const SvdElement* size = element.child("size")) {
      uint64_t bits = number(*size);
      if (bits < 8 || bits > 64 || bits % 8 != 0) {
        fail(*size, "register size " + std::to_string(bits) +
                        " is not supported (8 to 64 bits, a multiple of 8)");
      }
      outer.size_bits = static_cast<unsigned>(bits);
    }
    if (auto access = access_of(element)) outer.access = access;
    if (const SvdElement* reset = element.child("resetValue")) outer.reset_value = number(*reset);
    return outer;
  }

  uint64_t add(const SvdElement& at, uint64_t a, uint64_t b) const {
    if (a > UINT64_MAX - b) fail(at, "the address passes the top of the 64-bit address space");
    return a + b;
  }

  uint64_t multiply(const SvdElement& at, uint64_t a, uint64_t b) const {
    if (b != 0 && a > UINT64_MAX / b) {
      fail(at, "the address passes the top of the 64-bit address space");
    }
    return a * b;
  }

  // --- derivedFrom ----------------------------------------------------------------------------

  // Every <enumeratedValues> with a name, for derivedFrom (the first of a name wins).
  void index_value_sets(const SvdElement& element) {
    for (const SvdElement& child : element.children) {
      if (child.tag == "enumeratedValues") {
        if (const SvdElement* name = child.child("name"))
          value_sets_.emplace(trimmed(name->text), &child);
      }
      index_value_sets(child);
    }
  }

  static const SvdElement* named_child(const SvdElement& container, std::string_view name,
                                       std::initializer_list<std::string_view> tags) {
    for (const SvdElement& child : container.children) {
      if (std::find(tags.begin(), tags.end(), child.tag) == tags.end()) continue;
      const SvdElement* child_name = child.child("name");
      if (child_name != nullptr && trimmed(child_name->text) == name) return &child;
    }
    return nullptr;
  }

  // The element a dotted path names from the peripherals ("UART0.CR1", "TIM1.CH.CCR.EN"), and
  // the element holding it; nullptr when there is none.
  std::pair<const SvdElement*, const SvdElement*> find_path(const std::string& path, Level level) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      size_t dot = path.find('.', start);
      parts.push_back(path.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    const SvdElement* peripherals = device_.child("peripherals");
    const SvdElement* at =
        peripherals ? named_child(*peripherals, parts[0], {"peripheral"}) : nullptr;
    if (at == nullptr || parts.size() < 2) return {nullptr, nullptr};
    at = &resolve(*at, *peripherals, Level::Peripheral);
    const SvdElement* container = at->child("registers");
    for (size_t i = 1; i < parts.size() && container != nullptr; i++) {
      bool last = i + 1 == parts.size();
      if (last && level == Level::Field) {
        const SvdElement* found = named_child(*container, parts[i], {"field"});
        return {found, found ? container : nullptr};
      }
      const SvdElement* found = named_child(*container, parts[i], {"register", "cluster"});
      if (found == nullptr) break;
      if (last) return {found, container};
      const SvdElement& effective = resolve(*found, *container, Level::Member);
      container = effective.tag == "register" ? effective.child("fields") : &effective;
    }
    return {nullptr, nullptr};
  }

  // `element` with what its derivedFrom names filled in: the base's elements, less its dim and
  // those `element` gives itself (any register or cluster of its own replaces all the base's).
  const SvdElement& resolve(const SvdElement& element, const SvdElement& container, Level level) {
    if (!element.derived_from) return element;
    auto done = resolved_.find(&element);
    if (done != resolved_.end()) return *done->second;
    std::string reference = trimmed(*element.derived_from);
    if (!resolving_.insert(&element).second) {
      fail(element, "derivedFrom " + quote_for_message(reference) + " leads back to this element");
    }
    const SvdElement* base = nullptr;
    const SvdElement* base_container = &container;
    if (level == Level::Values) {
      size_t dot = reference.rfind('.');
      auto found =
          value_sets_.find(dot == std::string::npos ? reference : reference.substr(dot + 1));
      if (found != value_sets_.end()) base = found->second;
    } else if (level == Level::Peripheral) {
      base = named_child(container, reference, {"peripheral"});
    } else if (reference.find('.') == std::string::npos) {
      base = level == Level::Field ? named_child(container, reference, {"field"})
                                   : named_child(container, reference, {"register", "cluster"});
    } else {
      std::tie(base, base_container) = find_path(reference, level);
    }
    if (base == nullptr || base->tag != element.tag) {
      fail(element, "derivedFrom " + quote_for_message(reference) + ": no <" + element.tag +
                        "> of that name to derive from");
    }
    const SvdElement& effective_base = resolve(*base, *base_container, level);
    auto merged = std::make_unique<SvdElement>(element);
    merged->derived_from.reset();
    auto group = [](std::string_view tag) {
      return tag == "cluster" ? std::string_view("register") : tag;
    };
    for (const SvdElement& inherited : effective_base.children) {
      std::string_view tag = inherited.tag;
      if (tag == "dim" || tag == "dimIncrement" || tag == "dimIndex") continue;
      bool own = std::any_of(element.children.begin(), element.children.end(),
                             [&](const SvdElement& mine) { return group(mine.tag) == group(tag); });
      if (!own) merged->children.push_back(inherited);
    }
    resolving_.erase(&element);
    return *resolved_.emplace(&element, std::move(merged)).first->second;
  }

  // --- dim --------------------------------------------------------------------------------------

  std::vector<Instance> instances(const SvdElement& element, const std::string& name) const {
    const SvdElement* dim = element.child("dim");
    bool templated = name.find("%s") != std::string::npos;
    if (dim == nullptr) {
      if (templated) fail(element, quote_for_message(name) + " has %s but no <dim>");
      return {{name, 0}};
    }
    uint64_t count = number(*dim);
    if (count == 0 || count > kMaxDim) {
      fail(*dim, "dim " + std::to_string(count) + " is not from 1 to " + std::to_string(kMaxDim));
    }
    required(element, "dimIncrement");
    if (!templated)
      fail(*dim, quote_for_message(name) + " has a <dim> but no %s to put the index in");
    std::vector<std::string> indices;
    if (const SvdElement* index = element.child("dimIndex")) {
      indices = dim_indices(*index);
      if (indices.size() != count) {
        fail(*index, "dimIndex names " + std::to_string(indices.size()) + " elements, dim is " +
                         std::to_string(count));
      }
    } else {
      for (uint64_t i = 0; i < count; i++)
        indices.push_back(std::to_string(i));
    }
    std::vector<Instance> out;
    for (uint64_t i = 0; i < count; i++) {
      std::string instance = name;
      for (size_t at = instance.find("%s"); at != std::string::npos;
           at = instance.find("%s", at + indices[i].size())) {
        instance.replace(at, 2, indices[i]);
      }
      if (!map_support::valid_name(instance)) {
        fail(element, quote_for_message(instance) +
                          " is not a name (no spaces, control characters, ';' or '=')");
      }
      out.push_back({instance, i});
    }
    return out;
  }

  // "0-7", "A-D", or "a,b,c".
  std::vector<std::string> dim_indices(const SvdElement& element) const {
    std::string text = trimmed(element.text);
    std::vector<std::string> out;
    size_t dash = text.find('-');
    if (text.find(',') == std::string::npos && dash != std::string::npos) {
      std::string first = trimmed(text.substr(0, dash));
      std::string last = trimmed(text.substr(dash + 1));
      std::optional<uint64_t> low = parse_digits(first, 10);
      std::optional<uint64_t> high = parse_digits(last, 10);
      if (low && high && *low <= *high && *high - *low < kMaxDim) {
        for (uint64_t i = *low; i <= *high; i++)
          out.push_back(std::to_string(i));
        return out;
      }
      if (first.size() == 1 && last.size() == 1 && first[0] >= 'A' && first[0] <= last[0] &&
          last[0] <= 'Z') {
        for (char c = first[0]; c <= last[0]; c++)
          out.emplace_back(1, c);
        return out;
      }
      fail(element,
           "dimIndex " + quote_for_message(text) + " is not a range (0-7, A-D) or a list (a,b,c)");
    }
    size_t start = 0;
    while (true) {
      size_t comma = text.find(',', start);
      std::string item =
          trimmed(text.substr(start, comma == std::string::npos ? comma : comma - start));
      if (item.empty())
        fail(element, "dimIndex " + quote_for_message(text) + " has an empty element");
      out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }

  // --- peripherals, clusters, registers -------------------------------------------------------

  void add_peripheral(const SvdElement& peripheral, const Properties& outer,
                      std::vector<RegisterBlock>& blocks) {
    std::string name = name_of(peripheral);
    uint64_t base = number(required(peripheral, "baseAddress"));
    Properties inner = properties(outer, peripheral);
    uint64_t extent = 0;
    for (const SvdElement& block : peripheral.children) {
      if (block.tag != "addressBlock") continue;
      uint64_t end = add(block, number(required(block, "offset")), number(required(block, "size")));
      extent = std::max(extent, end);
    }
    std::vector<Register> registers;
    if (const SvdElement* container = peripheral.child("registers")) {
      add_members(*container, inner, "", 0, registers);
    }
    std::string description;
    if (const SvdElement* text = peripheral.child("description"))
      description = one_spaced(text->text);
    std::vector<Instance> all = instances(peripheral, name);
    size_t fields_and_values = 0;
    for (const Register& reg : registers) {
      fields_and_values += reg.fields.size();
      for (const Field& field : reg.fields) {
        fields_and_values += field.values.size();
      }
    }
    for (const Instance& instance : all) {
      if (instance.index > 0) {
        // Not moved yet: only the last instance takes `registers`, after this.
        // NOLINTNEXTLINE(bugprone-use-after-move)
        count_registers(peripheral, registers.size());
        count_fields_and_values(peripheral, fields_and_values);
      }
      RegisterBlock block;
      block.name = instance.name;
      block.base = base;
      if (instance.index > 0) {
        block.base =
            add(peripheral, base,
                multiply(peripheral, instance.index, number(required(peripheral, "dimIncrement"))));
      }
      block.size = extent;
      block.description = description;
      for (const Register& reg : registers) {
        if (reg.offset + reg.size_bytes() - 1 > UINT64_MAX - block.base) {
          fail(peripheral, "register " + quote_for_message(reg.name) +
                               " passes the top of the 64-bit address space");
        }
      }
      if (instance.index + 1 == all.size()) {
        block.registers = std::move(registers);  // the last instance takes them
      } else {
        block.registers = registers;
      }
      blocks.push_back(std::move(block));
    }
  }

  void count_registers(const SvdElement& at, size_t more) {
    registers_ += more;
    if (registers_ > map_support::kMaxRegisters) {
      fail(at, "more than " + std::to_string(map_support::kMaxRegisters) + " registers");
    }
  }

  void count_fields_and_values(const SvdElement& at, size_t more) {
    fields_and_values_ += more;
    if (fields_and_values_ > kMaxFieldsAndValues) {
      fail(at, "more than " + std::to_string(kMaxFieldsAndValues) + " fields and values");
    }
  }

  // The registers of a <registers> or <cluster>, flattened: a cluster's registers are named
  // "CLUSTER.REGISTER" at the cluster's offset plus their own.
  void add_members(const SvdElement& container, const Properties& outer, const std::string& prefix,
                   uint64_t offset, std::vector<Register>& out, size_t depth = 0) {
    for (const SvdElement& child : container.children) {
      if (child.tag != "register" && child.tag != "cluster") continue;
      const SvdElement& member = resolve(child, container, Level::Member);
      std::string name = name_of(member);
      uint64_t member_offset = add(member, offset, number(required(member, "addressOffset")));
      Properties inner = properties(outer, member);
      uint64_t increment = member.child("dimIncrement") ? number(*member.child("dimIncrement")) : 0;
      std::optional<std::vector<Field>> member_fields;  // the same for each element of a dim
      size_t member_fields_and_values = 0;
      for (const Instance& instance : instances(member, name)) {
        uint64_t at = add(member, member_offset, multiply(member, instance.index, increment));
        if (member.tag == "cluster") {
          if (depth + 1 >= kMaxDepth) {
            fail(member, "clusters nested deeper than " + std::to_string(kMaxDepth) + " levels");
          }
          if (++clusters_ > kMaxClusters) {
            fail(member, "more than " + std::to_string(kMaxClusters) + " clusters");
          }
          add_members(member, inner, prefix + instance.name + ".", at, out, depth + 1);
          continue;
        }
        count_registers(member, 1);
        Register reg;
        reg.name = prefix + instance.name;
        reg.offset = at;
        reg.size_bits = inner.size_bits != 0 ? inner.size_bits : 32;
        if (at > UINT64_MAX - (reg.size_bytes() - 1)) {
          fail(member, "the register passes the top of the 64-bit address space");
        }
        if (const SvdElement* text = member.child("description")) {
          reg.description = one_spaced(text->text);
        }
        reg.access = inner.access.value_or(RegisterAccess::Unspecified);
        reg.reset_value = inner.reset_value;
        if (reg.reset_value && reg.size_bits < 64)
          *reg.reset_value &= (uint64_t{1} << reg.size_bits) - 1;
        if (const SvdElement* fields = member.child("fields")) {
          if (!member_fields) {
            member_fields = fields_of(*fields, reg);
            for (const Field& field : *member_fields) {
              member_fields_and_values += 1 + field.values.size();
            }
          } else {
            count_fields_and_values(member, member_fields_and_values);
          }
          reg.fields = *member_fields;
        }
        out.push_back(std::move(reg));
      }
    }
  }

  // --- fields and enumerated values -----------------------------------------------------------

  // The bits of a field, from whichever of the three forms it uses (all it uses must agree).
  std::pair<unsigned, unsigned> bits_of(const SvdElement& field) const {
    std::optional<std::pair<uint64_t, uint64_t>> bits;  // low bit, width
    auto agree = [&](const SvdElement& at, uint64_t low, uint64_t width) {
      if (bits && (bits->first != low || bits->second != width)) {
        fail(at, "<" + at.tag + "> disagrees with the field's other bit position");
      }
      bits = {low, width};
    };
    if (const SvdElement* offset = field.child("bitOffset")) {
      const SvdElement& width = required(field, "bitWidth");
      agree(*offset, number(*offset), number(width));
    } else if (const SvdElement* width = field.child("bitWidth")) {
      fail(*width, "<bitWidth> without <bitOffset>");
    }
    if (const SvdElement* lsb = field.child("lsb")) {
      const SvdElement& msb = required(field, "msb");
      uint64_t low = number(*lsb);
      uint64_t high = number(msb);
      if (high < low)
        fail(msb, "msb " + std::to_string(high) + " is below lsb " + std::to_string(low));
      agree(*lsb, low, high - low + 1);
    } else if (const SvdElement* msb = field.child("msb")) {
      fail(*msb, "<msb> without <lsb>");
    }
    if (const SvdElement* range = field.child("bitRange")) {
      std::string text = trimmed(range->text);
      size_t colon = text.find(':');
      std::optional<uint64_t> high, low;
      if (text.size() >= 5 && text.front() == '[' && text.back() == ']' &&
          colon != std::string::npos) {
        high = parse_digits(text.substr(1, colon - 1), 10);
        low = parse_digits(text.substr(colon + 1, text.size() - colon - 2), 10);
      }
      if (!high || !low || *high < *low) {
        fail(*range, "bitRange " + quote_for_message(text) + " is not [MSB:LSB]");
      }
      agree(*range, *low, *high - *low + 1);
    }
    if (!bits) {
      fail(field,
           "field " +
               quote_for_message(trimmed(field.child("name") ? field.child("name")->text : "")) +
               " has no bit position (bitOffset and bitWidth, lsb and msb, or bitRange)");
    }
    if (bits->second == 0 || bits->second > 64 || bits->first > 63) {
      fail(field, "field bits " + std::to_string(bits->first) + " and width " +
                      std::to_string(bits->second) + " do not make a field of 1 to 64 bits");
    }
    return {static_cast<unsigned>(bits->first), static_cast<unsigned>(bits->second)};
  }

  std::vector<Field> fields_of(const SvdElement& container, const Register& reg) {
    std::vector<Field> out;
    for (const SvdElement& child : container.children) {
      const SvdElement& field_element = resolve(child, container, Level::Field);
      std::string name = name_of(field_element);
      auto [low, width] = bits_of(field_element);
      uint64_t increment =
          field_element.child("dimIncrement") ? number(*field_element.child("dimIncrement")) : 0;
      std::optional<RegisterAccess> access = access_of(field_element);
      std::string description;
      if (const SvdElement* text = field_element.child("description")) {
        description = one_spaced(text->text);
      }
      std::vector<EnumeratedValue> values = values_of(field_element, width);
      for (const Instance& instance : instances(field_element, name)) {
        uint64_t field_low = low + instance.index * increment;
        if (instance.index > 0 && increment > 64) field_low = 64;  // does not fit: said below
        if (field_low + width > reg.size_bits) {
          fail(field_element, "field " + quote_for_message(instance.name) + " (bits " +
                                  std::to_string(field_low + width - 1) + ":" +
                                  std::to_string(field_low) + ") does not fit in the " +
                                  std::to_string(reg.size_bits) + "-bit register " +
                                  quote_for_message(reg.name));
        }
        count_fields_and_values(field_element, 1 + values.size());
        Field field;
        field.name = instance.name;
        field.bit_offset = static_cast<unsigned>(field_low);
        field.bit_width = width;
        field.description = description;
        field.access = access.value_or(reg.access);
        field.values = values;
        out.push_back(std::move(field));
      }
    }
    return out;
  }

  std::vector<EnumeratedValue> values_of(const SvdElement& field, unsigned width) {
    std::vector<EnumeratedValue> out;
    size_t sets = 0;
    for (const SvdElement& child : field.children) {
      if (child.tag != "enumeratedValues") continue;
      if (++sets > 2) fail(child, "a field has at most two <enumeratedValues> (read and write)");
      const SvdElement& set = resolve(child, field, Level::Values);
      ValueUsage usage = ValueUsage::ReadWrite;
      if (const SvdElement* element = set.child("usage")) {
        std::string text = trimmed(element->text);
        if (text == "read") {
          usage = ValueUsage::Read;
        } else if (text == "write") {
          usage = ValueUsage::Write;
        } else if (text != "read-write") {
          fail(*element, "usage " + quote_for_message(text) + " is not read, write or read-write");
        }
      }
      for (const SvdElement& entry : set.children) {
        if (entry.tag == "enumeratedValue") out.push_back(value_of(entry, width, usage));
      }
    }
    return out;
  }

  EnumeratedValue value_of(const SvdElement& entry, unsigned width, ValueUsage usage) const {
    EnumeratedValue value;
    value.name = name_of(entry);
    value.usage = usage;
    if (const SvdElement* text = entry.child("description"))
      value.description = one_spaced(text->text);
    if (const SvdElement* is_default = entry.child("isDefault")) {
      std::string text = trimmed(is_default->text);
      if (text == "true" || text == "1") {
        value.is_default = true;
      } else if (text != "false" && text != "0") {
        fail(*is_default, "isDefault " + quote_for_message(text) + " is not true or false");
      }
    }
    const SvdElement* element = entry.child("value");
    if (element == nullptr) {
      if (!value.is_default) required(entry, "value");
      return value;
    }
    std::string text = trimmed(element->text);
    std::string_view digits = text;
    if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
    bool binary = false;
    if (!digits.empty() && digits[0] == '#') {
      digits.remove_prefix(1);
      binary = true;
    } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
      digits.remove_prefix(2);
      binary = true;
    }
    if (binary) {  // may have 'x' for bits that match anything
      if (digits.empty() || digits.size() > 64)
        fail(*element, quote_for_message(text) + " is not a value");
      for (char c : digits) {
        value.value <<= 1;
        value.dont_care <<= 1;
        if (c == '1') {
          value.value |= 1;
        } else if (c == 'x' || c == 'X') {
          value.dont_care |= 1;
        } else if (c != '0') {
          fail(*element,
               quote_for_message(text) + " is not a binary value (0, 1, or x for either)");
        }
      }
    } else {
      value.value = number(*element);
    }
    if (width < 64 && ((value.value | value.dont_care) >> width) != 0) {
      fail(*element, "value " + quote_for_message(text) + " of " + quote_for_message(value.name) +
                         " does not fit in the " + std::to_string(width) + "-bit field");
    }
    return value;
  }

  const std::string& file_name_;
  const SvdElement& device_;
  std::map<const SvdElement*, std::unique_ptr<SvdElement>> resolved_;
  std::set<const SvdElement*> resolving_;
  std::map<std::string, const SvdElement*> value_sets_;
  size_t registers_ = 0;
  size_t clusters_ = 0;
  size_t fields_and_values_ = 0;
};

}  // namespace

RegisterMap parse_svd(std::string_view text, const std::string& file_name) {
  SvdTreeBuilder builder(file_name);
  builder.feed(text.data(), text.size(), true);
  return SvdConverter(file_name, builder.device()).convert();
}

namespace map_support {

RegisterMap read_svd_stream(std::FILE* file, const std::string& file_name) {
  SvdTreeBuilder builder(file_name);
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    builder.feed(buffer, got, false);
  if (std::ferror(file)) throw RegisterMapError(file_name + ": cannot read: " + strerror(errno));
  builder.feed(buffer, 0, true);
  return SvdConverter(file_name, builder.device()).convert();
}

}  // namespace map_support

}  // namespace mmiotrace::analysis
