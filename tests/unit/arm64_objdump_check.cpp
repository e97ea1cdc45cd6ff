// The AArch64 decoder against binutils: every instruction word of the AArch64 binaries given
// (glibc, libstdc++, libatomic's LSE routines...) is decoded by arm64::decode and by
// aarch64-linux-gnu-objdump, and the verdicts must agree: whether the word is a load/store the
// emulator carries out, a literal load, a load/store it does not, or no access; and for the
// accesses, reads/writes, the bytes accessed, the data and base registers, and writeback.
// Prints the counts; exits 77 (skipped) when the cross binutils are absent.
//
// usage: arm64_objdump_check [--objdump PATH] [--assemble SOURCE] [--random N] [--show N]
//                            BINARY...
//   --assemble: also checks SOURCE (every class and mode, by hand), assembled with the `as`
//   beside objdump.
//   --random: also checks N pseudo-random words of the load/store encoding space (fixed seed).
//   On those, two kinds of difference are counted apart and allowed: binutils refuses some
//   CONSTRAINED UNPREDICTABLE forms the decoder takes as the hardware may run them (LDAR with
//   Rs or Rt2 not all ones, LDPSW with Rt == Rt2 or a written-back base among them), and a
//   word the decoder calls Unsupported that binutils does not know or calls no access, or the
//   reverse (the tracer treats both alike: a MARK and the program's own SIGSEGV).
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "arm64/decoder.hpp"

namespace {

using mmiotrace::arm64::Access;
using mmiotrace::arm64::decode;
using mmiotrace::arm64::DecodeStatus;
using mmiotrace::arm64::Operation;

constexpr int kSkipped = 77;

// What objdump's text says of one instruction.
struct Expected {
  DecodeStatus status = DecodeStatus::NotAccess;
  bool reads = false, writes = false;
  unsigned total_bytes = 0;
  int rt = -1;  // -1: not compared
  int rn = -1;
  bool writeback = false;
  // The offset: the immediate ("#-16", after "]" when post-indexed; 0 when none), or the
  // offset register with its extend and shift.
  bool compare_offset = false;
  int64_t imm = 0;
  int rm = -1;
  const char* extend = "";
  unsigned shift = 0;
};

bool starts_with(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool ends_with(const std::string& text, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

bool one_of(const std::string& text, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (text == name) return true;
  }
  return false;
}

std::vector<std::string> split_operands(const std::string& operands) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : operands) {
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
      continue;
    }
    if (c == ' ' && current.empty()) continue;
    current += c;
  }
  if (!current.empty()) parts.push_back(current);
  return parts;
}

// A register operand's number (31 for sp, xzr, wzr) and its bytes (0 when unknown).
bool parse_register(const std::string& text, int& number, unsigned& bytes) {
  if (text == "sp" || text == "xzr") return number = 31, bytes = 8, true;
  if (text == "wsp" || text == "wzr") return number = 31, bytes = 4, true;
  if (text.size() < 2) return false;
  static const std::map<char, unsigned> kWidths = {{'x', 8}, {'w', 4}, {'b', 1},  {'h', 2},
                                                   {'s', 4}, {'d', 8}, {'q', 16}, {'v', 0}};
  const auto width = kWidths.find(text[0]);
  if (width == kWidths.end()) return false;
  char* end = nullptr;
  const long value = std::strtol(text.c_str() + 1, &end, 10);
  if (end == text.c_str() + 1 || value < 0 || value > 31) return false;
  number = static_cast<int>(value);
  bytes = width->second;
  return true;
}

// Reads "[xN{, #imm | , rM{, extend{ #amount}}}]{!}" and what follows it ("#imm" or "xM").
void parse_address(const std::string& address, const std::string& after, Expected& e) {
  const size_t close = address.find(']');
  const std::vector<std::string> inside = split_operands(address.substr(1, close - 1));
  unsigned bytes = 0;
  parse_register(inside[0], e.rn, bytes);
  e.writeback = ends_with(address, "!") || !after.empty();
  e.compare_offset = true;
  const std::string& offset = inside.size() > 1 ? inside[1] : after;
  if (offset.empty()) return;
  if (offset[0] == '#') {
    e.imm = std::strtoll(offset.c_str() + 1, nullptr, 0);
    return;
  }
  parse_register(offset, e.rm, bytes);
  if (inside.size() > 2) {
    const std::string& modifier = inside[2];
    for (const char* name : {"lsl", "uxtw", "sxtw", "sxtx"}) {
      if (starts_with(modifier, name)) e.extend = name;
    }
    const size_t hash = modifier.find('#');
    if (hash != std::string::npos) e.shift = static_cast<unsigned>(std::atoi(&modifier[hash + 1]));
  }
}

bool is_atomic_op(const std::string& m) {
  for (const char* op : {"add", "clr", "eor", "set", "smax", "smin", "umax", "umin"}) {
    if (starts_with(m, (std::string("ld") + op).c_str())) return true;
  }
  return false;
}

bool is_atomic_store_alias(const std::string& m) {
  for (const char* op : {"add", "clr", "eor", "set", "smax", "smin", "umax", "umin"}) {
    if (starts_with(m, (std::string("st") + op).c_str())) return true;
  }
  return false;
}

// The bytes one element of a SIMD structure operand ("v3.4s", "v1.b") has, and its vector's.
void arrangement(const std::string& reg, unsigned& element, unsigned& vector) {
  const size_t dot = reg.find('.');
  const std::string tail = reg.substr(dot + 1);
  const char kind = tail.back();
  element = kind == 'b' ? 1 : kind == 'h' ? 2 : kind == 's' ? 4 : 8;
  const unsigned lanes = tail.size() > 1 ? static_cast<unsigned>(std::atoi(tail.c_str())) : 0;
  vector = lanes * element;
}

Expected structure(const std::string& m, const std::string& operands, bool load) {
  Expected e;
  e.status = DecodeStatus::Access;
  e.reads = load;
  e.writes = !load;
  const size_t open = operands.find('{');
  const size_t close = operands.find('}');
  std::vector<std::string> regs = split_operands(operands.substr(open + 1, close - open - 1));
  unsigned count = static_cast<unsigned>(regs.size());
  if (regs.size() == 1 && regs[0].find('-') != std::string::npos) {  // {v0.16b-v3.16b}
    const std::string first = regs[0].substr(0, regs[0].find('-'));
    const std::string last = regs[0].substr(regs[0].find('-') + 1);
    count = (std::atoi(last.c_str() + 1) - std::atoi(first.c_str() + 1) + 32) % 32 + 1;
    regs[0] = first;
  }
  unsigned element = 0, vector = 0;
  arrangement(regs[0], element, vector);
  e.rt = std::atoi(regs[0].c_str() + 1);
  const bool single = operands.compare(close + 1, 1, "[") == 0;
  const bool replicate = ends_with(m, "r");
  e.total_bytes = single || replicate ? count * element : count * vector;
  const size_t bracket = operands.find('[', close + (single ? 3 : 1));
  const std::vector<std::string> address = split_operands(operands.substr(bracket));
  parse_address(address[0], address.size() > 1 ? address[1] : "", e);
  return e;
}

Expected expected_of(const std::string& m, const std::string& operands) {
  Expected e;
  const bool memory = operands.find('[') != std::string::npos;
  if (m == ".inst" || m == ".word" || m == "udf") return e;
  if (one_of(m, {"prfm", "prfum"})) return e;
  const bool sve = operands[0] == 'z' || starts_with(operands, "{z") ||
                   (operands[0] == 'p' && std::isdigit(operands[1])) ||
                   one_of(m, {"prfb", "prfh", "prfw", "prfd"});
  if (sve && memory) {  // SVE memory instructions: not emulated
    e.status = DecodeStatus::Unsupported;
    return e;
  }
  if (m == "dc" || m == "ic") {
    if (starts_with(operands, "zva")) {
      e.status = DecodeStatus::Access;
      e.writes = true;
      int number = 0;
      unsigned bytes = 0;
      if (parse_register(split_operands(operands)[1], number, bytes)) e.rt = number;
    }
    return e;
  }
  if (one_of(m, {"ldraa", "ldrab", "stg", "stzg", "st2g", "stz2g", "ldg", "stgp", "ldgm", "stgm",
                 "stzgm", "ld64b", "st64b", "st64bv", "st64bv0", "ldiapp", "stilp"}) ||
      starts_with(m, "cpy") || starts_with(m, "set")) {
    e.status = DecodeStatus::Unsupported;
    return e;
  }
  const bool load_store = starts_with(m, "ld") || starts_with(m, "st") || starts_with(m, "cas") ||
                          starts_with(m, "swp");
  if (!load_store) return e;
  if (!memory) {
    e.status = DecodeStatus::LiteralLoad;
    return e;
  }
  if (std::strchr("1234", m.size() > 2 ? m[2] : 0) != nullptr && operands[0] == '{') {
    return structure(m, operands, starts_with(m, "ld"));
  }
  e.status = DecodeStatus::Access;
  const bool rmw =
      starts_with(m, "cas") || starts_with(m, "swp") || is_atomic_op(m) || is_atomic_store_alias(m);
  e.reads = rmw || starts_with(m, "ld");
  e.writes = rmw || starts_with(m, "st");
  const std::vector<std::string> parts = split_operands(operands);
  size_t memory_index = 0;
  while (memory_index < parts.size() && parts[memory_index][0] != '[')
    ++memory_index;
  // The data register: after the status register of the store exclusives, after the compare
  // register(s) of CAS, CASP and the LSE operations; the ST<op> aliases have none (XZR).
  const bool store_exclusive =
      one_of(m, {"stxr", "stlxr", "stxrb", "stlxrb", "stxrh", "stlxrh", "stxp", "stlxp"});
  const bool pair_cas = starts_with(m, "casp");
  size_t data_index = 0;
  if (store_exclusive || starts_with(m, "swp") || is_atomic_op(m)) data_index = 1;
  if (starts_with(m, "cas")) data_index = pair_cas ? 2 : 1;
  int rt = 0;
  unsigned bytes = 0;
  if (is_atomic_store_alias(m)) {
    parse_register(parts[0], rt, bytes);
    rt = 31;
  } else if (!parse_register(parts[data_index], rt, bytes)) {
    return e;
  }
  e.rt = rt;
  unsigned size = bytes;
  if (ends_with(m, "sw")) {
    size = 4;
  } else if (ends_with(m, "b")) {
    size = 1;
  } else if (ends_with(m, "h")) {
    size = 2;
  }
  const bool pair =
      one_of(m, {"ldp", "stp", "ldnp", "stnp", "ldpsw", "ldxp", "ldaxp", "stxp", "stlxp"}) ||
      pair_cas;
  e.total_bytes = pair ? 2 * size : size;
  parse_address(parts[memory_index], memory_index + 1 < parts.size() ? parts[memory_index + 1] : "",
                e);
  return e;
}

// The forms binutils refuses that the architecture leaves CONSTRAINED UNPREDICTABLE.
bool constrained_unpredictable(uint32_t word, const Access& access) {
  const bool ldar = (word & 0x3fe08000) == 0x08c08000;  // size 001000 1 1 0 Rs 1 Rt2 Rn Rt
  const bool ldpsw = (word & 0xfe400000) == 0x68400000;
  if (ldar) return ((word >> 10) & 31) != 31 || ((word >> 16) & 31) != 31;
  if (!ldpsw) return false;
  return access.rt == access.rt2 ||
         (access.writeback && (access.rn == access.rt || access.rn == access.rt2));
}

bool same_offset(const Access& access, const Expected& e) {
  using mmiotrace::arm64::AddressMode;
  using mmiotrace::arm64::Extend;
  if (!e.compare_offset) return true;
  if (access.mode == AddressMode::RegisterOffset) {
    static const char* const kNames[] = {"", "", "uxtw", "lsl", "", "", "sxtw", "sxtx"};
    const char* name = kNames[static_cast<int>(access.extend)];
    const bool extend_same =
        std::strcmp(e.extend, name) == 0 || (e.extend[0] == 0 && access.extend == Extend::Lsl);
    return e.rm == access.rm && extend_same && e.shift == access.shift;
  }
  if (access.mode == AddressMode::PostIndexRegister) return e.rm == access.rm;
  return e.rm < 0 && e.imm == access.imm;
}

bool is_pair(Operation operation) {
  return operation == Operation::LoadPair || operation == Operation::StorePair;
}

std::string verdict(DecodeStatus status, const Access& a) {
  char text[160];
  static const char* const kStatus[] = {"access", "literal", "unsupported", "no-access"};
  if (status != DecodeStatus::Access) return kStatus[static_cast<int>(status)];
  std::snprintf(text, sizeof text,
                "access op=%d bytes=%u rt=%u rn=%u wb=%d imm=%lld rm=%u extend=%d shift=%u",
                static_cast<int>(a.operation), a.total_bytes, a.rt, a.rn, a.writeback,
                static_cast<long long>(a.imm), a.rm, static_cast<int>(a.extend), a.shift);
  return text;
}

// A temporary object assembled from `source`, or "" (said on stdout) when that failed.
std::string assembled(const std::string& assembler, const std::string& source) {
  char object[] = "/tmp/arm64_corpus_XXXXXX";
  const int fd = mkstemp(object);
  if (fd < 0) return "";
  close(fd);
  if (std::system((assembler + " " + source + " -o " + object).c_str()) != 0) {
    std::printf("error: %s could not assemble %s\n", assembler.c_str(), source.c_str());
    unlink(object);
    return "";
  }
  return object;
}

// A temporary assembly source of `count` pseudo-random words with bit 27 set and bit 25
// clear (the loads and stores), one ".inst" each; the same words on every run.
std::string random_source(unsigned long count) {
  char path[] = "/tmp/arm64_random_XXXXXX.s";
  const int fd = mkstemps(path, 2);
  if (fd < 0) return "";
  FILE* out = fdopen(fd, "w");
  std::mt19937 generator(21);
  for (unsigned long i = 0; i < count; ++i) {
    const uint32_t word = (static_cast<uint32_t>(generator()) | (1u << 27)) & ~(1u << 25);
    std::fprintf(out, ".inst 0x%08x\n", word);
  }
  std::fclose(out);
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  std::string objdump = "aarch64-linux-gnu-objdump";
  long show = 20;
  std::string corpus;
  unsigned long random_words = 0;
  std::vector<std::string> binaries;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--objdump" && i + 1 < argc) {
      objdump = argv[++i];
    } else if (arg == "--assemble" && i + 1 < argc) {
      corpus = argv[++i];
    } else if (arg == "--random" && i + 1 < argc) {
      random_words = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--show" && i + 1 < argc) {
      show = std::atol(argv[++i]);
    } else {
      binaries.push_back(arg);
    }
  }
  if (std::system((objdump + " --version >/dev/null 2>&1").c_str()) != 0) {
    std::printf("skipped: %s not found (Debian package binutils-aarch64-linux-gnu)\n",
                objdump.c_str());
    return kSkipped;
  }
  std::vector<std::string> present;
  std::vector<std::string> made;
  const std::string assembler = objdump.substr(0, objdump.rfind("objdump")) + "as";
  if (!corpus.empty()) {
    const std::string object = assembled(assembler, corpus);
    if (object.empty()) return 2;
    made.push_back(object);
  }
  if (random_words > 0) {
    const std::string object = assembled(assembler, random_source(random_words));
    if (object.empty()) return 2;
    made.push_back(object);
  }
  present = made;
  for (const std::string& binary : binaries) {
    if (FILE* f = std::fopen(binary.c_str(), "rb")) {
      std::fclose(f);
      present.push_back(binary);
    }
  }
  if (present.empty()) {
    std::printf("skipped: none of the AArch64 binaries is installed (libc6-arm64-cross)\n");
    return kSkipped;
  }
  unsigned long words = 0, accesses = 0, literals = 0, unsupported = 0, disagreements = 0;
  unsigned long not_emulated_differences = 0, unpredictable_forms = 0;
  std::map<std::string, unsigned long> mnemonics;
  for (const std::string& binary : present) {
    const std::string command = objdump + " -d --no-addresses " + binary + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return 2;
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
      std::string text(line);
      if (!text.empty() && text.back() == '\n') text.pop_back();
      // "\tf9400020 \tldr\tx0, [x1]"
      if (text.size() < 11 || text[0] != '\t') continue;
      char* end = nullptr;
      const unsigned long word = std::strtoul(text.c_str() + 1, &end, 16);
      if (end != text.c_str() + 9 || *end != ' ') continue;
      const size_t tab = text.find('\t', 10);
      if (tab == std::string::npos) continue;
      std::string mnemonic = text.substr(tab + 1);
      std::string operands;
      if (const size_t space = mnemonic.find('\t'); space != std::string::npos) {
        operands = mnemonic.substr(space + 1);
        mnemonic.resize(space);
      }
      if (const size_t comment = operands.find(" //"); comment != std::string::npos) {
        operands.resize(comment);
      }
      if (const size_t symbol = operands.find(" <"); symbol != std::string::npos) {
        operands.resize(symbol);
      }
      ++words;
      const Expected expected = expected_of(mnemonic, operands);
      Access access;
      const DecodeStatus status = decode(static_cast<uint32_t>(word), access);
      bool same = status == expected.status;
      if (same && status == DecodeStatus::Access) {
        ++accesses;
        ++mnemonics[mnemonic];
        same =
            mmiotrace::arm64::reads_memory(access.operation) == expected.reads &&
            mmiotrace::arm64::writes_memory(access.operation) == expected.writes &&
            access.total_bytes == expected.total_bytes &&
            (expected.rt < 0 || access.rt == expected.rt) &&
            (access.operation == Operation::ZeroBlock || expected.rn < 0 ||
             access.rn == expected.rn) &&
            (access.operation == Operation::ZeroBlock || access.writeback == expected.writeback) &&
            (access.operation == Operation::ZeroBlock || same_offset(access, expected)) &&
            (!is_pair(access.operation) || access.total_bytes == 2 * access.size);
      }
      literals += status == DecodeStatus::LiteralLoad && same;
      unsupported += status == DecodeStatus::Unsupported && same;
      const bool neither_emulated =
          status != DecodeStatus::Access && status != DecodeStatus::LiteralLoad &&
          expected.status != DecodeStatus::Access && expected.status != DecodeStatus::LiteralLoad;
      if (!same && neither_emulated) {
        ++not_emulated_differences;
      } else if (!same && status == DecodeStatus::Access && mnemonic == ".inst" &&
                 constrained_unpredictable(static_cast<uint32_t>(word), access)) {
        ++unpredictable_forms;
      } else if (!same) {
        ++disagreements;
        if (show-- > 0) {
          std::printf("disagree: %08lx %s %s: decoder says %s\n", word, mnemonic.c_str(),
                      operands.c_str(), verdict(status, access).c_str());
        }
      }
    }
    pclose(pipe);
  }
  for (const std::string& file : made)
    unlink(file.c_str());
  std::printf(
      "files: %zu, words checked: %lu, load/store words: %lu (%zu mnemonics), "
      "literal loads: %lu, unsupported load/stores: %lu, disagreements: %lu\n"
      "allowed differences: CONSTRAINED UNPREDICTABLE forms binutils refuses: %lu, "
      "unsupported/no-access: %lu\n",
      present.size(), words, accesses, mnemonics.size(), literals, unsupported, disagreements,
      unpredictable_forms, not_emulated_differences);
  return disagreements == 0 ? 0 : 1;
}
