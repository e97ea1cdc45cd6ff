// Register maps: the registers of devices (names, addresses, sizes, bit fields, enumerated
// values) read from CMSIS-SVD or from mmiotrace's own JSON and YAML format, and the decoding of
// an access into register and field names for `mmiotrace dump --regs` (docs/register-maps.md).
// Normal context.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mmiotrace::analysis {

// A register map that cannot be read or makes no sense. The message is one line:
// "FILE:LINE:COLUMN: what is wrong" (LINE and COLUMN count from 1; a JSON or YAML message also
// names the place in the document, "blocks[0].registers[2]: ..."), or "FILE: what" when there is
// no position (the file cannot be opened).
class RegisterMapError : public std::runtime_error {
 public:
  explicit RegisterMapError(const std::string& message);
};

// What software may do with a register or field (SVD's `access`).
enum class RegisterAccess : uint8_t {
  Unspecified,
  ReadWrite,
  ReadOnly,
  WriteOnly,
  WriteOnce,
  ReadWriteOnce,
};

// Which accesses an enumerated value names (SVD's `usage` of an enumeratedValues set).
enum class ValueUsage : uint8_t { ReadWrite, Read, Write };

// The direction of a traced access, for choosing between read and write enumerations.
enum class AccessDirection : uint8_t { Unknown, Read, Write };

struct EnumeratedValue {
  std::string name;
  uint64_t value = 0;
  uint64_t dont_care = 0;  // bits of `value` that match anything (SVD "#1x0")
  std::string description;
  bool is_default = false;  // names every value no other entry of its usage names
  ValueUsage usage = ValueUsage::ReadWrite;
};

struct Field {
  std::string name;
  unsigned bit_offset = 0;  // lowest bit, 0 = the register's least significant bit
  unsigned bit_width = 1;   // 1 to 64; bit_offset + bit_width <= the register's size_bits
  std::string description;
  RegisterAccess access = RegisterAccess::Unspecified;
  std::vector<EnumeratedValue> values;  // in the map's order; the first match names a value
};

struct Register {
  std::string name;         // within its block; a cluster member's is prefixed: "CH[0].CCR"
  uint64_t offset = 0;      // bytes from its block's base
  unsigned size_bits = 32;  // a multiple of 8, from 8 to 64
  std::string description;
  RegisterAccess access = RegisterAccess::Unspecified;
  std::optional<uint64_t> reset_value;
  std::vector<Field> fields;  // in the map's order; an SVD map's may overlap

  unsigned size_bytes() const { return size_bits / 8; }
};

// One device or peripheral (an SVD peripheral): registers at offsets from a base address.
struct RegisterBlock {
  std::string name;
  uint64_t base = 0;  // address of offset 0
  uint64_t size = 0;  // bytes the block spans from base (its address blocks); 0: unknown
  std::string description;
  std::vector<Register> registers;  // in the map's order, which decides between overlaps
};

// Register blocks, and the lookup of the registers an access touches. Move-only: lookups
// return pointers into the map.
class RegisterMap {
 public:
  RegisterMap() = default;
  // `source` names where the map came from (its file), for messages. The readers have checked
  // the blocks: register sizes from 8 to 64 bits, fields inside their registers. A register
  // whose bytes would pass the top of the address space is left out of lookups.
  RegisterMap(std::string source, std::string device, std::vector<RegisterBlock> blocks);
  RegisterMap(RegisterMap&&) = default;
  RegisterMap& operator=(RegisterMap&&) = default;
  RegisterMap(const RegisterMap&) = delete;
  RegisterMap& operator=(const RegisterMap&) = delete;

  const std::string& source() const { return source_; }
  const std::string& device() const { return device_; }
  const std::vector<RegisterBlock>& blocks() const { return blocks_; }

  // The first register, in the map's order (blocks, then their registers), whose bytes include
  // all `width` bytes from `address`; nullptr when none does.
  const Register* find(uint64_t address, uint32_t width) const;
  // The block a register of this map belongs to.
  const RegisterBlock& block_of(const Register& reg) const;
  // The first block whose span (its size, or up to the end of its last register) includes
  // `address`; nullptr when none does.
  const RegisterBlock* find_block(uint64_t address) const;

  // Names an access of `width_bytes` (1 to 8) bytes at `address` with value `value` (the
  // access's bytes, little-endian) to `reg`, one of this map's registers whose bytes include
  // the access: "BLOCK.REG FIELD=0x1 EN=ENABLED". An access to part of the register names the
  // bits it covers, "BLOCK.REG[15:8]"; a field it covers in part shows those bits of the field,
  // "COUNT[7:0]=0x12"; fields it does not touch are left out. Values are hexadecimal, or the
  // name of the field's enumerated value that matches (for `direction`).
  std::string decode(const Register& reg, uint64_t value, unsigned width_bytes, uint64_t address,
                     AccessDirection direction = AccessDirection::Unknown) const;
  // Names whatever the access touches: its register (decode()); the registers it spans, joined
  // by "; "; or, inside a block but no register, "BLOCK+0xOFFSET". Empty when the map does not
  // cover the access.
  std::string describe(uint64_t address, unsigned width_bytes, uint64_t value,
                       AccessDirection direction = AccessDirection::Unknown) const;

  // The lowest base address of the blocks (0 for an empty map).
  uint64_t lowest_base() const;
  // A copy with every block moved by the same amount so that the lowest base is `address`.
  RegisterMap moved_to(uint64_t address) const;

 private:
  // A register in the lookup: its bytes first..last, and its place in the map's order.
  struct Span {
    uint64_t first;
    uint64_t last;
    size_t order;
    const Register* reg;
    const RegisterBlock* block;
  };
  struct BlockSpan {
    uint64_t first;
    uint64_t last;
    size_t order;
    const RegisterBlock* block;
  };
  void index();
  const Span* first_containing(uint64_t first, uint64_t last) const;

  std::string source_;
  std::string device_;
  std::vector<RegisterBlock> blocks_;
  std::vector<Span> spans_;               // by first address
  std::vector<BlockSpan> block_spans_;    // by first address
  std::vector<uint64_t> block_last_max_;  // the highest `last` of block_spans_[0..i]
  std::unordered_map<const Register*, const RegisterBlock*> block_of_;
};

enum class RegisterMapFormat { Svd, Json, Yaml };

// Reads the register map in `path`: CMSIS-SVD for .svd and .xml, JSON for .json, YAML for .yaml
// and .yml; any other name by its first character ('<' SVD, '{' JSON, else YAML). An SVD file is
// read in pieces. Throws RegisterMapError.
RegisterMap load_register_map(const std::string& path);

// Reads a register map from `text`; `file_name` is what messages call it. Throws
// RegisterMapError.
RegisterMap parse_register_map(std::string_view text, RegisterMapFormat format,
                               const std::string& file_name);
RegisterMap parse_svd(std::string_view text, const std::string& file_name);
RegisterMap parse_json_register_map(std::string_view text, const std::string& file_name);
RegisterMap parse_yaml_register_map(std::string_view text, const std::string& file_name);

}  // namespace mmiotrace::analysis
