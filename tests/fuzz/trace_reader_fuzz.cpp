// libFuzzer target for the trace readers: any bytes, read as a trace (chosen by the first byte:
// the bytes as they are, which the reader tells text, binary, or zstd, gzip or xz compressed
// apart by; binary records; zstd binary records), must give events or a TraceReadError, never a
// crash, a hang or a sanitizer report. Built with -DMMIOTRACE_FUZZ=ON (clang); see scripts/fuzz.
// The corpus has a seed of each (tests/fuzz/corpus: *.zst, *.gz, *.xz are compressed whole).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "trace/binary_format.hpp"
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
    auto reader = TraceReader::open(as_file(bytes));
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
    }
  } catch (const TraceReadError&) {
  }
  return 0;
}
