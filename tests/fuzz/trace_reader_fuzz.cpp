// libFuzzer target for the trace readers: any bytes, read as a trace (chosen by the first byte,
// modulo 3: the bytes as they are, which the reader tells text, binary, or zstd, gzip or xz
// compressed apart by; binary records; zstd binary records; and, by the first byte divided by 3,
// strictly or leniently, skipping what it cannot read), must give events or a TraceReadError,
// never a crash, a hang or a sanitizer report. Markers are parsed as their readers parse them
// (module, device and PCI config markers). Built with -DMMIOTRACE_FUZZ=ON (clang); see
// scripts/fuzz. The corpus has a seed of each (tests/fuzz/corpus: *.zst, *.gz, *.xz are
// compressed whole; hostile_* are traces that try to make the readers misbehave).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "trace/binary_format.hpp"
#include "trace/markers.hpp"
#include "trace/trace_reader.hpp"

using namespace mmiotrace::trace;

namespace {

// The input as a file the reader can open.
std::string as_file(const std::vector<uint8_t>& bytes) {
  static int fd = memfd_create("fuzz-trace", 0);
  ftruncate(fd, 0);
  lseek(fd, 0, SEEK_SET);
  if (!bytes.empty()) (void)!write(fd, bytes.data(), bytes.size());
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> bytes;
  uint8_t mode = data[0] % 3;  // 0: as it is (any file), 1: binary records, 2: zstd binary records
  ReadOptions options;
  options.strict = (data[0] / 3) % 2 == 0;
  options.warn = [](const std::string& message) {
    volatile size_t size = message.size();  // made, and not printed
    (void)size;
  };
  if (mode == 0) {
    bytes.assign(data + 1, data + size);
  } else {
    BinaryFileHeader header = {};
    std::memcpy(header.magic, kBinaryMagic, sizeof(header.magic));
    header.version = kBinaryVersion;
    header.flags = mode == 2 ? kBinaryFlagZstd : 0;
    header.header_size = sizeof(header);
    bytes.resize(sizeof(header));
    std::memcpy(bytes.data(), &header, sizeof(header));
    bytes.insert(bytes.end(), data + 1, data + size);
  }
  try {
    auto reader = TraceReader::open(as_file(bytes), options);
    Event event;
    size_t events = 0;
    while (reader->next(event) && events < 1000000) {
      ++events;
      if (event.text != nullptr && event.text_length > 0) {
        volatile char first = event.text[0];
        volatile char last = event.text[event.text_length - 1];
        (void)first;
        (void)last;
      }
      if (event.kind == EventKind::Mark) {
        std::string_view text(event.text ? event.text : "", event.text_length);
        volatile bool parsed =
            parse_module_marker(text).has_value() || parse_architecture_marker(text).has_value() ||
            parse_device_marker(text).has_value() || parse_pci_config_marker(text).has_value();
        (void)parsed;
      }
    }
  } catch (const TraceReadError&) {
  }
  return 0;
}
