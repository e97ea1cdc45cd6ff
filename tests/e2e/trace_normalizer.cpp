// Checking and normalizing recorded traces (see trace_normalizer.hpp).
#include "trace_normalizer.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "x86/decoder.hpp"

namespace mmiotrace::e2e {

ProgramImage::ProgramImage(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < sizeof(Elf64_Ehdr)) return;
  Elf64_Ehdr header;
  std::memcpy(&header, file.data(), sizeof(header));
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    size_t at = header.e_phoff + i * sizeof(Elf64_Phdr);
    if (at + sizeof(segment) > file.size()) break;
    std::memcpy(&segment, file.data() + at, sizeof(segment));
    if (segment.p_type != PT_LOAD || !(segment.p_flags & PF_X)) continue;
    if (segment.p_offset + segment.p_filesz > file.size()) continue;
    segments_.push_back({segment.p_vaddr,
                         std::vector<uint8_t>(file.begin() + static_cast<long>(segment.p_offset),
                                              file.begin() + static_cast<long>(segment.p_offset +
                                                                               segment.p_filesz))});
  }
}

std::vector<uint8_t> ProgramImage::code_at(uint64_t address) const {
  for (const Segment& segment : segments_) {
    if (address < segment.address || address >= segment.address + segment.bytes.size()) continue;
    size_t offset = address - segment.address;
    size_t length = std::min<size_t>(15, segment.bytes.size() - offset);
    return {segment.bytes.begin() + static_cast<long>(offset),
            segment.bytes.begin() + static_cast<long>(offset + length)};
  }
  return {};
}

namespace {

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

uint64_t parse_hex(const std::string& text) {
  return std::stoull(text, nullptr, 16);
}

class Normalizer {
 public:
  Normalizer(const ProgramImage& program, const std::string& directory)
      : program_(program), directory_(directory) {}

  std::string line(const std::string& text) {
    current_ = text;
    std::vector<std::string> f = split(text);
    if (f.empty()) return text;
    const std::string& kind = f[0];
    if (kind == "VERSION" || kind == "PCIDEV") return text;  // PCIDEV: this machine's devices
    if (kind == "MAP" && f.size() == 8) {
      check_time(f[1]);
      check_code_address(f[6]);
      return "MAP T " + f[2] + " " + f[3] + " VIRT " + f[5] + " PC " + pid(f[7]);
    }
    if (kind == "UNMAP" && f.size() == 5) {
      check_time(f[1]);
      check_code_address(f[3]);
      return "UNMAP T " + f[2] + " PC " + pid(f[4]);
    }
    if ((kind == "R" || kind == "W") && f.size() == 8) {
      check_time(f[2]);
      check_access_instruction(f[6], kind == "W", std::stoi(f[1]));
      return kind + " " + f[1] + " T " + f[3] + " " + f[4] + " " + f[5] + " PC " + pid(f[7]);
    }
    if (kind == "UNKNOWN" && f.size() == 7) {
      check_time(f[1]);
      check_opcode_bytes(f[5], f[4]);
      return "UNKNOWN T " + f[2] + " " + f[3] + " " + f[4] + " PC " + pid(f[6]);
    }
    if (kind == "MARK" && f.size() >= 3 && f[2] == "module") {
      // Which libraries the process loaded, and where: this machine's, so left out (but well
      // formed: pid, address range, load base, build ID when the file has one, absolute path).
      check_time(f[1]);
      static const std::regex module(R"(^MARK \S+ module \d+ 0x[0-9a-f]+-0x[0-9a-f]+ 0x[0-9a-f]+ )"
                                     R"((build-id=([0-9a-f]{2})+ )?/.*$)");
      if (!std::regex_match(text, module)) problem("malformed module marker");
      return "";
    }
    if (kind == "MARK" && f.size() >= 3 && f[2] == "arch") {
      // Which instructions the process ran: this machine's, so left out (but well formed).
      check_time(f[1]);
      static const std::regex arch(R"(^MARK \S+ arch \d+ [a-z0-9_]+$)");
      if (!std::regex_match(text, arch)) problem("malformed architecture marker");
      return "";
    }
    if (kind == "MARK" && f.size() >= 9 && f[2] == "ioctl" && f[7] == "arg") {
      // An ioctl: all but the argument's address (f[8]) is stable.
      check_time(f[1]);
      std::string rest = text.substr(text.find(" arg ") + 5);
      return "MARK T ioctl fd " + f[4] + " request " + f[6] + " arg ADDR" +
             rest.substr(rest.find(' '));
    }
    if (kind == "MARK" && f.size() >= 2) {
      check_time(f[1]);
      return "MARK T" + variable_parts(text.substr(text.find(f[1]) + f[1].size()));
    }
    problem("unrecognised line");
    return text;
  }

  std::vector<std::string> problems;

 private:
  void problem(const std::string& what) { problems.push_back(what + ": " + current_); }

  void check_time(const std::string& time) {
    size_t dot = time.find('.');
    if (dot == std::string::npos || time.size() - dot - 1 != 6) return problem("bad time");
    uint64_t micros =
        std::stoull(time.substr(0, dot)) * 1000000 + std::stoull(time.substr(dot + 1));
    if (micros < last_time_) problem("time goes backwards");
    last_time_ = micros;
  }

  // PIDs in order of appearance become PID, PID2, PID3...
  std::string pid(const std::string& text) {
    if (std::stoi(text) <= 0) problem("PID is not a process");
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (pids_[i] == text) return i == 0 ? "PID" : "PID" + std::to_string(i + 1);
    }
    pids_.push_back(text);
    return pid(text);
  }

  void check_code_address(const std::string& pc) {
    if (program_.code_at(parse_hex(pc)).empty()) problem("PC is not in the program's code");
  }

  void check_access_instruction(const std::string& pc, bool write, int width) {
    uint64_t address = parse_hex(pc);
    std::vector<uint8_t> code = program_.code_at(address);
    x86::Instruction instruction;
    if (code.empty() ||
        x86::decode(code.data(), code.size(), address, &instruction) != x86::DecodeResult::Ok) {
      return problem("PC is not an instruction of the program");
    }
    for (unsigned i = 0; i < instruction.memory_operand_count; ++i) {
      const x86::MemoryOperand& operand = instruction.memory[i];
      bool direction = write ? x86::writes(operand.kind) : x86::reads(operand.kind);
      if (direction && operand.width == width) return;
      // A text trace writes a wider access as consecutive 8-byte lines.
      if (direction && width == 8 && operand.width > 8 && operand.width % 8 == 0) return;
    }
    // The kernel's access for a system call the program made: PC is where the call returns.
    std::vector<uint8_t> call = program_.code_at(address - 5);
    if (call.size() >= 1 && call[0] == 0xe8) return;
    problem(
        "the instruction at PC makes no access of this width and direction, nor follows a call");
  }

  void check_opcode_bytes(const std::string& pc, const std::string& bytes) {
    std::vector<uint8_t> code = program_.code_at(parse_hex(pc));
    char expected[16] = "";
    if (code.size() >= 3)
      snprintf(expected, sizeof(expected), "%02x,%02x,%02x", code[0], code[1], code[2]);
    if (bytes != expected) problem("opcode bytes are not those at PC");
  }

  std::string variable_parts(std::string text) const {
    for (size_t at; !directory_.empty() && (at = text.find(directory_)) != std::string::npos;) {
      text.replace(at, directory_.size(), "DIR");
    }
    static const std::regex address("0x[0-9a-f]+");
    return std::regex_replace(text, address, "ADDR");
  }

  const ProgramImage& program_;
  std::string directory_;
  std::string current_;
  std::vector<std::string> pids_;
  uint64_t last_time_ = 0;
};

}  // namespace

NormalizedTrace normalize_trace(const std::string& trace, const ProgramImage& program,
                                const std::string& directory) {
  Normalizer normalizer(program, directory);
  NormalizedTrace result;
  std::istringstream in(trace);
  for (std::string line; std::getline(in, line);) {
    std::string normal = normalizer.line(line);
    if (!normal.empty()) result.text += normal + "\n";
  }
  result.problems = std::move(normalizer.problems);
  return result;
}

}  // namespace mmiotrace::e2e

namespace mmiotrace::e2e {

bool parse_access_line(const std::string& line, AccessLine* out) {
  if (line.size() < 2 || (line[0] != 'R' && line[0] != 'W') || line[1] != ' ') return false;
  std::vector<std::string> fields = split(line);
  if (fields.size() < 6) return false;
  out->kind = line[0];
  out->phys = parse_hex(fields[4]);
  out->value = parse_hex(fields[5]);
  return true;
}

std::string without_diagnostics(const std::string& text) {
  std::istringstream in(text);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("mmiotrace: ", 0) != 0) kept += line + "\n";
  }
  return kept;
}

}  // namespace mmiotrace::e2e
