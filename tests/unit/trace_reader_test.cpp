// Unit tests for trace/trace_reader: kernel text traces read (and written back byte for byte),
// binary traces (plain and zstd) round-tripped, traces compressed whole with zstd, gzip or xz
// read whatever their name, and every kind of bad input (cut or corrupt compressed data too)
// refused with the file and the line or offset named, its bytes escaped.
#include "trace/trace_reader.hpp"

#include <gtest/gtest.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

#include "codecache/access_log.hpp"
#include "trace/binary_format.hpp"
#include "trace/text_format.hpp"
#include "trace/trace_writer.hpp"
#include "trace_file_support.hpp"

namespace mmiotrace::trace {
namespace {

using mmiotrace::testing::TemporaryFile;

// A trace as the kernel's tracer writes it (PID 0, PC 0), with every kind of line.
const char kKernelLog[] =
    "VERSION 20070824\n"
    "PCIDEV 0100 10de0402 10 fd000000 d000000c 0 fa00000c 0 ef81 fe9e0000 1000000 10000000 0 "
    "2000000 0 80 20000 nvidia\n"
    "PCIDEV 0008 1af41045 0 4000000004 0 0 0 0 0 0 80000 0 0 0 0 0 0 \n"
    "MAP 81.403176 1 0xfd000000 0xffffc20000100000 0x1000000 0x0 0\n"
    "R 4 81.403200 1 0xfd000000 0x40a200a2 0x0 0\n"
    "W 4 81.403300 1 0xfd000140 0x0 0x0 0\n"
    "W 1 81.403301 1 0xfd000141 0xff 0x0 0\n"
    "R 2 81.403302 1 0xfd000142 0xbeef 0x0 0\n"
    "R 8 81.403303 1 0xfd000148 0xdeadbeef12345678 0x0 0\n"
    "UNKNOWN 81.403400 1 0xfd000200 f0,0f,c1 0x0 0\n"
    "MARK 81.500000 driver loaded\n"
    "MARK 0.000000 Lost 42 events.\n"
    "UNMAP 82.000000 1 0x0 0\n"
    "UNMAP 82.000001 -1 0x0 0\n";

std::vector<Event> read_all(const std::string& path, std::vector<std::string>* texts = nullptr) {
  auto reader = TraceReader::open(path);
  std::vector<Event> events;
  Event event;
  while (reader->next(event)) {
    if (texts) texts->emplace_back(event.text ? std::string(event.text, event.text_length) : "");
    events.push_back(event);
  }
  return events;
}

void copy(const std::string& from, const std::string& to, TraceFormat format, bool compress) {
  auto reader = TraceReader::open(from);
  int fd = ::open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  auto writer = TraceWriter::create(fd, to, format, compress);
  Event event;
  while (reader->next(event))
    writer->write_event(event);
  writer->close();
}

// The bytes that `hex` spells, two hex digits each.
std::string hex_bytes(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

std::string error_of(const std::string& path) {
  try {
    read_all(path);
  } catch (const TraceReadError& error) {
    return error.what();
  }
  return "no error";
}

TEST(TraceReader, KernelLogIsReadWithEveryKindOfLine) {
  TemporaryFile log;
  log.set_content(kKernelLog);
  std::vector<std::string> texts;
  std::vector<Event> events = read_all(log.path(), &texts);
  ASSERT_EQ(events.size(), 13u);
  EXPECT_EQ(events[0].kind, EventKind::PciDevice);
  EXPECT_EQ(events[2].kind, EventKind::Map);
  EXPECT_EQ(events[2].phys, 0xfd000000u);
  EXPECT_EQ(events[2].virt, 0xffffc20000100000u);
  EXPECT_EQ(events[2].length, 0x1000000u);
  EXPECT_EQ(events[2].time_ns, 81403176000u);
  EXPECT_EQ(events[3].kind, EventKind::Read);
  EXPECT_EQ(events[3].width, 4);
  EXPECT_EQ(events[3].value[0], 0xa2);
  EXPECT_EQ(events[7].width, 8);
  EXPECT_EQ(events[8].kind, EventKind::Unknown);
  EXPECT_EQ(events[8].insn[2], 0xc1);
  EXPECT_EQ(events[9].kind, EventKind::Mark);
  EXPECT_EQ(texts[9], "driver loaded");
  EXPECT_EQ(events[10].kind, EventKind::Lost);
  EXPECT_EQ(events[10].length, 42u);
  EXPECT_EQ(events[12].map_id, -1);
}

TEST(TraceReader, KernelLogIsWrittenBackByteForByte) {
  TemporaryFile log, text;
  log.set_content(kKernelLog);
  copy(log.path(), text.path(), TraceFormat::Text, false);
  EXPECT_EQ(text.content(), kKernelLog);
}

TEST(TraceReader, BinaryTracesRoundTripPlainAndCompressed) {
  for (bool compress : {false, true}) {
    TemporaryFile log, binary, text;
    log.set_content(kKernelLog);
    copy(log.path(), binary.path(), TraceFormat::Binary, compress);
    EXPECT_EQ(TraceReader::open(binary.path())->format(), TraceFormat::Binary);
    copy(binary.path(), text.path(), TraceFormat::Text, false);
    EXPECT_EQ(text.content(), kKernelLog) << (compress ? "compressed" : "plain");
  }
}

// A binary trace with two access runs between other records, as the recorder writes it.
std::string trace_with_access_runs(bool compress, std::vector<AccessRecord>& records) {
  records.clear();
  for (uint64_t i = 0; i < 300; ++i) {
    uint64_t width = uint64_t{1} << (i % 4);
    records.push_back({0x7f0000000000 + 16 * i, 0x1111111111111111 * (i % 15), 0x401000 + i,
                       width | (i % 2 ? kAccessWrite : 0)});
  }
  SmallAccessRun run;
  run.map_id = 1;
  run.virt_base = 0x7f0000000000;
  run.phys_base = 0xfd000000;
  run.time_ns = 81403200000;
  run.pid = 7;
  run.tid = 8;
  run.records = records.data();
  run.count = records.size();
  TemporaryFile file;
  int fd = ::open(file.path().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  auto writer = TraceWriter::create(fd, file.path(), TraceFormat::Binary, compress);
  Event map;
  map.kind = EventKind::Map;
  map.map_id = 1;
  map.length = 0x10000;
  writer->write_event(map);
  std::vector<uint8_t> bytes(kMaxRecordSize);
  writer->write_records(bytes.data(), encode_access_run(run, 0, 100, bytes.data()));
  Event mark;
  mark.kind = EventKind::Mark;
  mark.text = "between";
  mark.text_length = 7;
  writer->write_event(mark);
  writer->write_records(bytes.data(), encode_access_run(run, 100, 200, bytes.data()));
  writer->close();
  return file.content();
}

TEST(TraceReader, AccessRunsAreReadAsTheirEventsInOrder) {
  for (bool compress : {false, true}) {
    std::vector<AccessRecord> records;
    TemporaryFile binary;
    binary.set_content(trace_with_access_runs(compress, records));
    std::vector<Event> events = read_all(binary.path());
    ASSERT_EQ(events.size(), 1 + 100 + 1 + 200u);
    EXPECT_EQ(events[0].kind, EventKind::Map);
    EXPECT_EQ(events[101].kind, EventKind::Mark);
    for (size_t i = 0; i < records.size(); ++i) {
      const Event& event = events[i < 100 ? 1 + i : 2 + i];
      EXPECT_EQ(event.kind, i % 2 ? EventKind::Write : EventKind::Read) << i;
      EXPECT_EQ(event.width, records[i].info & 0xff) << i;
      EXPECT_EQ(event.virt, records[i].address) << i;
      EXPECT_EQ(event.phys, 0xfd000000 + 16 * i) << i;
      EXPECT_EQ(event.pc, records[i].pc) << i;
      EXPECT_EQ(event.time_ns, 81403200000u) << i;
      EXPECT_EQ(event.tid, 8) << i;
      EXPECT_EQ(std::memcmp(event.value, &records[i].value, event.width), 0) << i;
    }
  }
}

TEST(TraceReader, BinaryVersion1And2TracesAreStillRead) {
  TemporaryFile log, binary;
  log.set_content(kKernelLog);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  std::string bytes = binary.content();
  ASSERT_EQ(bytes[8], 3);
  for (char version : {1, 2}) {
    bytes[8] = version;
    binary.set_content(bytes);
    EXPECT_EQ(read_all(binary.path()).size(), 13u);
  }
  // A version-2 file, as the version-2 writer wrote it: a MAP, a compact and a wide access run,
  // an UNMAP; and the text that version's `mmiotrace dump` made of it.
  const std::string version2 = hex_bytes(
      "4d4d494f54524300020000000000000040000000000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000001003800010000000700000008000000e803000000000000"
      "0000000000000000000000fd0000000000000000007f000000100000000000000a1060000100000007000000"
      "08000000d0070000000000000010400000000000000000fd0000000000000000007f00001000000000000040"
      "efbeadde0000000018000000040000e0efcdab896745230120000000f0ffff1f5a000000000000000a187800"
      "010000000700000008000000d0070000000000000000000000000000000000fd0000000000000000007f0000"
      "10000000007f00040010400000000000efbeadde0000000018000000007f00880410400000000000efcdab89"
      "6745230120000000007f0001f00f4000000000005a0000000000000002002000010000000700000008000000"
      "b80b0000000000000000000000000000");
  binary.set_content(version2);
  TemporaryFile text;
  copy(binary.path(), text.path(), TraceFormat::Text, false);
  EXPECT_EQ(text.content(),
            "VERSION 20070824\n"
            "MAP 0.000001 1 0xfd000000 0x7f0000000000 0x1000 0x0 7\n"
            "R 4 0.000002 1 0xfd000010 0xdeadbeef 0x401000 7\n"
            "W 8 0.000002 1 0xfd000018 0x123456789abcdef 0x401004 7\n"
            "R 1 0.000002 1 0xfd000020 0x5a 0x400ff0 7\n"
            "R 4 0.000002 1 0xfd000010 0xdeadbeef 0x401000 7\n"
            "W 8 0.000002 1 0xfd000018 0x123456789abcdef 0x401004 7\n"
            "R 1 0.000002 1 0xfd000020 0x5a 0x400ff0 7\n"
            "UNMAP 0.000003 1 0x0 7\n");
}

TEST(TraceReader, BadTextLinesAreNamedByFileAndLine) {
  TemporaryFile log;
  log.set_content("VERSION 20070824\nR 4 1.000000 1 0x10 0x5 0x0 0\nBOGUS 1 2 3\n");
  EXPECT_EQ(error_of(log.path()),
            log.path() + ": line 3: unknown record \"BOGUS\" in \"BOGUS 1 2 3\"");
  log.set_content("R 3 1.000000 1 0x10 0x5 0x0 0\n");
  EXPECT_EQ(error_of(log.path()),
            log.path() + ": line 1: bad width in \"R 3 1.000000 1 0x10 0x5 0x0 0\"");
  log.set_content("W 4 1.000000 1 0x10 5 0x0 0\n");
  EXPECT_NE(error_of(log.path()).find(": line 1: bad value"), std::string::npos);
  log.set_content("MAP 1.5 1 0x0 0x0 0x0 0x0 0\n");
  EXPECT_NE(error_of(log.path()).find(": line 1: bad time"), std::string::npos);
  log.set_content("UNMAP 1.000000 1 0x0\n");
  EXPECT_NE(error_of(log.path()).find(": line 1: missing pid"), std::string::npos);
  log.set_content("VERSION 20240101\n");
  EXPECT_NE(error_of(log.path()).find("version 20240101, but this reader knows version 20070824"),
            std::string::npos);
}

class BinaryErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    TemporaryFile log;
    log.set_content(kKernelLog);
    copy(log.path(), good_.path(), TraceFormat::Binary, false);
    bytes_ = good_.content();
  }
  TemporaryFile good_, bad_;
  std::string bytes_;
};

TEST_F(BinaryErrors, TruncatedTraceNamesTheOffsetOfTheCutRecord) {
  bad_.set_content(bytes_.substr(0, bytes_.size() - 5));
  std::string error = error_of(bad_.path());
  EXPECT_NE(error.find(bad_.path() + ": offset "), std::string::npos) << error;
  EXPECT_NE(error.find("cut short"), std::string::npos) << error;
  bad_.set_content(bytes_.substr(0, 20));
  EXPECT_EQ(error_of(bad_.path()), bad_.path() + ": offset 0: the file header is cut short");
}

TEST_F(BinaryErrors, CorruptRecordNamesItsOffset) {
  std::string corrupt = bytes_;
  corrupt[64 + 2] = 3;  // the first record's size
  bad_.set_content(corrupt);
  EXPECT_EQ(error_of(bad_.path()),
            bad_.path() + ": offset 64: a record has an impossible size (3)");
}

TEST_F(BinaryErrors, ABadAccessRunNamesItsOffset) {
  std::vector<AccessRecord> records;
  std::string bytes = trace_with_access_runs(false, records);
  // The second run starts after the header, the map (56 bytes), the first run and the mark.
  size_t second_run = 64 + 56 + access_run_size(100, kAccessRunCompactEntrySize) + 48;
  ASSERT_EQ(bytes[second_run], static_cast<char>(RecordKind::AccessRun));
  bytes[second_run + 1] = 20;  // entries of 20 bytes
  bad_.set_content(bytes);
  EXPECT_EQ(error_of(bad_.path()), bad_.path() + ": offset " + std::to_string(second_run) +
                                       ": the access run's entries have an unknown size");
}

TEST_F(BinaryErrors, NewerVersionIsRefusedPlainly) {
  std::string newer = bytes_;
  newer[8] = 4;
  bad_.set_content(newer);
  EXPECT_EQ(error_of(bad_.path()),
            bad_.path() +
                ": offset 8: written by a newer mmiotrace (binary format version 4; "
                "this one reads version 3)");
}

// Found by the fuzzer: a header size past the end of the file made the reader skip past its
// buffer and read out of bounds.
TEST_F(BinaryErrors, HeaderSizeBeyondTheFileOrTheLimitIsRefused) {
  for (uint32_t header_size : {uint32_t{0x3000}, uint32_t{0x10000000}}) {
    std::string corrupt = bytes_;
    std::memcpy(&corrupt[16], &header_size, sizeof(header_size));
    bad_.set_content(corrupt);
    EXPECT_EQ(error_of(bad_.path()), bad_.path() +
                                         ": offset 16: the file header is corrupt (its size is " +
                                         std::to_string(header_size) + " bytes)");
  }
  // A longer header that the file has: its extra bytes are skipped.
  std::string longer = bytes_.substr(0, 64) + std::string(64, '\0') + bytes_.substr(64);
  uint32_t header_size = 128;
  std::memcpy(&longer[16], &header_size, sizeof(header_size));
  bad_.set_content(longer);
  EXPECT_EQ(error_of(bad_.path()), "no error");
}

TEST_F(BinaryErrors, TruncatedCompressedTraceIsRefused) {
  TemporaryFile log, compressed;
  log.set_content(kKernelLog);
  copy(log.path(), compressed.path(), TraceFormat::Binary, true);
  std::string bytes = compressed.content();
  bad_.set_content(bytes.substr(0, bytes.size() - 10));
  std::string error = error_of(bad_.path());
  EXPECT_NE(error.find(bad_.path() + ": offset"), std::string::npos) << error;
}

// --- Compressed files --------------------------------------------------------------------------

enum class Method { Zstd, Gzip, Xz };
const Method kMethods[] = {Method::Zstd, Method::Gzip, Method::Xz};
const char* name_of(Method method) {
  return method == Method::Zstd ? "zstd" : method == Method::Gzip ? "gzip" : "xz";
}

// `bytes` compressed as `zstd`, `gzip` or `xz` would.
std::string compressed(const std::string& bytes, Method method) {
  std::string out;
  switch (method) {
    case Method::Zstd: {
      out.resize(ZSTD_compressBound(bytes.size()));
      size_t size = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 3);
      out.resize(ZSTD_isError(size) ? 0 : size);
      break;
    }
    case Method::Gzip: {
      z_stream stream = {};
      deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
      out.resize(deflateBound(&stream, bytes.size()) + 32);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
      stream.avail_in = static_cast<uInt>(bytes.size());
      stream.next_out = reinterpret_cast<Bytef*>(out.data());
      stream.avail_out = static_cast<uInt>(out.size());
      deflate(&stream, Z_FINISH);
      out.resize(stream.total_out);
      deflateEnd(&stream);
      break;
    }
    case Method::Xz: {
      out.resize(lzma_stream_buffer_bound(bytes.size()));
      size_t size = 0;
      lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr,
                              reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                              reinterpret_cast<uint8_t*>(out.data()), &size, out.size());
      out.resize(size);
      break;
    }
  }
  return out;
}

std::string binary_of(const std::string& text) {
  TemporaryFile log, binary;
  log.set_content(text);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  return binary.content();
}

// What dump would print of the trace in `bytes`.
std::string dumped(const std::string& bytes) {
  TemporaryFile in, out;
  in.set_content(bytes);
  copy(in.path(), out.path(), TraceFormat::Text, false);
  return out.content();
}

TEST(TraceReader, CompressedTextAndBinaryAreReadWhateverTheName) {
  for (Method method : kMethods) {
    SCOPED_TRACE(name_of(method));
    // Text, and binary (plain and with zstd records) compressed whole, in a file named *.trace.
    for (const std::string& trace : {std::string(kKernelLog), binary_of(kKernelLog)}) {
      std::string bytes = compressed(trace, method);
      ASSERT_FALSE(bytes.empty());
      TemporaryFile file;
      file.set_content(bytes);
      EXPECT_EQ(TraceReader::open(file.path())->format(),
                trace[0] == 'V' ? TraceFormat::Text : TraceFormat::Binary);
      EXPECT_EQ(dumped(bytes), kKernelLog);
      // Streams one after the other, as `cat a.gz b.gz` makes: read as one, whose second
      // VERSION line starts a second capture (kept as such); binary files too.
      EXPECT_EQ(dumped(bytes + bytes), std::string(kKernelLog) + kKernelLog);
    }
  }
}

TEST(TraceReader, CompressedTraceReportsProgressInFileBytes) {
  std::string big;
  for (int i = 0; i < 20000; ++i)
    big += "R 4 1.000000 1 0x" + std::to_string(i) + " 0x5 0x0 0\n";
  TemporaryFile file;
  std::string bytes = compressed(big, Method::Gzip);
  file.set_content(bytes);
  auto reader = TraceReader::open(file.path());
  EXPECT_EQ(reader->file_size(), bytes.size());
  Event event;
  uint64_t events = 0;
  while (reader->next(event)) {
    ++events;
    if (events == 20000) {
      EXPECT_EQ(reader->position(), "line 20000");
    }
  }
  EXPECT_EQ(events, 20000u);
  EXPECT_EQ(reader->bytes_read(), bytes.size());
}

// A compressed file cut anywhere: the events before the cut, then an error that names the file
// and where the reading stopped; never a crash, never a silent end.
TEST(TraceReader, CutCompressedFilesNameTheFileAndWhereReadingStopped) {
  for (Method method : kMethods) {
    SCOPED_TRACE(name_of(method));
    for (const std::string& trace : {std::string(kKernelLog), binary_of(kKernelLog)}) {
      std::string bytes = compressed(trace, method);
      // Every few bytes, and each of the last ones (the streams' trailers and checksums).
      for (size_t size = 1; size < bytes.size(); size += size + 24 < bytes.size() ? 11 : 1) {
        TemporaryFile file;
        file.set_content(bytes.substr(0, size));
        std::string error = error_of(file.path());
        EXPECT_EQ(error.rfind(file.path() + ": ", 0), 0u) << size << ": " << error;
        EXPECT_TRUE(error.find(": line ") != std::string::npos ||
                    error.find(": offset ") != std::string::npos)
            << size << ": " << error;
      }
      // Cut in the middle: the message says what happened, after the events before it.
      TemporaryFile file;
      file.set_content(bytes.substr(0, bytes.size() - 6));
      std::string error = error_of(file.path());
      EXPECT_NE(error.find(std::string("the ") + name_of(method) + " data is cut short"),
                std::string::npos)
          << error;
    }
  }
}

TEST(TraceReader, CutCompressedTextGivesTheLinesBeforeTheCut) {
  std::string big;  // zstd decompresses whole blocks of 128 KiB: this is many of them
  for (int i = 0; i < 50000; ++i)
    big += "W 4 1.000000 1 0x" + std::to_string(i) + " 0x5 0x0 0\n";
  std::string bytes = compressed(big, Method::Zstd);
  TemporaryFile file;
  file.set_content(bytes.substr(0, bytes.size() / 2));
  auto reader = TraceReader::open(file.path());
  Event event;
  uint64_t events = 0;
  std::string error;
  try {
    while (reader->next(event))
      ++events;
  } catch (const TraceReadError& e) {
    error = e.what();
  }
  EXPECT_GT(events, 10000u);
  EXPECT_LT(events, 50000u);
  EXPECT_EQ(error, file.path() + ": line " + std::to_string(events + 1) +
                       ": the zstd data is cut short: the file ends at byte " +
                       std::to_string(bytes.size() / 2) + ", inside a compressed stream");
}

TEST(TraceReader, CorruptCompressedDataIsRefusedWithTheFileNamed) {
  for (Method method : kMethods) {
    SCOPED_TRACE(name_of(method));
    std::string bytes = compressed(kKernelLog, method);
    for (size_t at = 6; at < bytes.size(); at += 7) {
      std::string corrupt = bytes;
      corrupt[at] = static_cast<char>(corrupt[at] ^ 0x5a);
      TemporaryFile file;
      file.set_content(corrupt);
      std::string error = error_of(file.path());
      // Most flips are caught by the format's checks; a few make other text, which the text
      // reader refuses or reads: never a crash.
      if (error != "no error") {
        EXPECT_EQ(error.rfind(file.path() + ": ", 0), 0u) << error;
      }
    }
  }
  TemporaryFile file;
  file.set_content(std::string("\x28\xb5\x2f\xfd") + std::string(40, '\x7f'));
  std::string error = error_of(file.path());
  EXPECT_EQ(error.rfind(file.path() + ": line 1: the zstd data is corrupt at byte ", 0), 0u)
      << error;
}

TEST(TraceReader, UnendedLastLineIsRefusedAfterTheLinesBeforeIt) {
  TemporaryFile log;
  log.set_content(
      "VERSION 20070824\nR 4 1.000000 1 0x10 0x5 0x0 12\nR 4 1.000001 1 0x10 0x5 0x0 1");
  auto reader = TraceReader::open(log.path());
  Event event;
  ASSERT_TRUE(reader->next(event));
  EXPECT_EQ(event.pid, 12);
  EXPECT_THROW(
      {
        try {
          reader->next(event);
        } catch (const TraceReadError& error) {
          EXPECT_EQ(std::string(error.what()),
                    log.path() +
                        ": line 3: the trace ends in the middle of this line (it has no "
                        "newline): \"R 4 1.000001 1 0x10 0x5 0x0 1\"");
          throw;
        }
      },
      TraceReadError);
}

TEST(TraceReader, EscapeBytesShowsEveryByteItCannotPrintAsAnEscape) {
  EXPECT_EQ(escape_bytes("plain text, 0x1f!"), "plain text, 0x1f!");
  EXPECT_EQ(escape_bytes(std::string("a\\b\n\t\r\x1b[2J\x07\x7f\x80\xff\0z", 16)),
            "a\\\\b\\n\\t\\r\\x1b[2J\\x07\\x7f\\x80\\xff\\x00z");
}

TEST(TraceReader, ErrorMessagesNeverHoldRawBytesOfTheFile) {
  TemporaryFile log;
  log.set_content("VERSION 20070824\n\x1b]0;owned\x07\x1b[2J\x9b\xff 1 2\n");
  std::string error = error_of(log.path());
  EXPECT_EQ(error, log.path() +
                       ": line 2: unknown record \"\\x1b]0;owned\\x07\\x1b[2J\\x9b\\xff\" in "
                       "\"\\x1b]0;owned\\x07\\x1b[2J\\x9b\\xff 1 2\"");
  log.set_content("VERSION 2007\x1b[31m\n");
  error = error_of(log.path());
  EXPECT_NE(error.find("version 2007\\x1b[31m,"), std::string::npos) << error;
  // Binary garbage read as text: its bytes escaped too.
  std::string garbage;
  for (int i = 0; i < 256; ++i)
    garbage += static_cast<char>(255 - i);
  log.set_content(garbage);
  error = error_of(log.path());
  for (char c : error) {
    auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte < 0x7f) << static_cast<int>(byte) << " in " << error;
  }
}

TEST(TraceReader, MissingFileIsNamed) {
  EXPECT_EQ(error_of("/nonexistent/trace.bin"),
            "/nonexistent/trace.bin: cannot open: No such file or directory");
}

// --- Lenient reading -----------------------------------------------------------------------------

struct LenientRead {
  std::vector<Event> events;
  std::vector<std::string> texts;  // of Mark events, "" for others
  std::vector<std::string> warnings;
};

LenientRead read_leniently(const std::string& path) {
  LenientRead read;
  ReadOptions options;
  options.strict = false;
  options.warn = [&read](const std::string& message) { read.warnings.push_back(message); };
  auto reader = TraceReader::open(path, options);
  Event event;
  while (reader->next(event)) {
    read.texts.emplace_back(event.text ? std::string(event.text, event.text_length) : "");
    read.events.push_back(event);
  }
  EXPECT_FALSE(reader->next(event));  // the end stays the end, and is summed up once
  return read;
}

std::string warnings_of(const LenientRead& read) {
  std::string all;
  for (const std::string& warning : read.warnings)
    all += warning + "\n";
  return all;
}

// A log of the kernel's tracer as a user pastes it into a bug report: the mail client wrapped
// the long PCIDEV and MAP lines at 72 columns, a marker's text held a newline, and the first
// mmiotrace's LSPCI lines are still in it.
const char kDamagedKernelLog[] =
    "VERSION 20070824\n"
    "LSPCI 01:00.0 VGA compatible controller: nVidia Corporation NV43 [GeForce 6600]\n"
    "PCIDEV 0100 10de0402 10 fd000000 d000000c 0 fa00000c 0 ef81 fe9e0000\n"
    "1000000 10000000 0 2000000 0 80 20000 nvidia\n"
    "MAP 81.403176 1 0xfd000000 0xffffc20000100000 0x1000000 0x0\n"
    "0\n"
    "R 4 81.403200 1 0xfd000000 0x40a200a2 0x0 0\n"
    "MARK 81.403250 nv: init\n"
    "second line of the marker\n"
    "W 4 81.403300 1 0xfd000140 0x0 0x0 0\n"
    "LSPCI 02:00.0 Ethernet controller\n";

TEST(LenientReader, DamagedKernelLogGivesEveryLineItCanReadAndWarnsOncePerKind) {
  TemporaryFile log;
  log.set_content(kDamagedKernelLog);
  LenientRead read = read_leniently(log.path());
  ASSERT_EQ(read.events.size(), 4u) << warnings_of(read);
  EXPECT_EQ(read.events[0].kind, EventKind::PciDevice);
  EXPECT_EQ(read.events[1].kind, EventKind::Read);
  EXPECT_EQ(read.events[2].kind, EventKind::Mark);
  EXPECT_EQ(read.texts[2], "nv: init");
  EXPECT_EQ(read.events[3].kind, EventKind::Write);
  ASSERT_EQ(read.warnings.size(), 4u) << warnings_of(read);
  EXPECT_EQ(read.warnings[0], log.path() +
                                  ": line 2: an LSPCI line of an old kernel (PCIDEV lines "
                                  "replaced them) in \"LSPCI 01:00.0 VGA compatible controller: "
                                  "nVidia Corporation NV43 [GeForce 6600]\" (skipped; --strict "
                                  "refuses the trace)");
  // The wrapped PCIDEV line is one PCIDEV (its first half passes through, as PCIDEV lines do)
  // and an unknown record; the wrapped MAP line is a malformed MAP and an unknown record.
  EXPECT_EQ(read.warnings[1].rfind(log.path() + ": line 4: unknown record \"1000000\"", 0), 0u)
      << warnings_of(read);
  EXPECT_EQ(read.warnings[2].rfind(log.path() + ": line 5: missing pid", 0), 0u)
      << warnings_of(read);
  EXPECT_EQ(read.warnings[3], log.path() +
                                  ": 6 lines not read (3 unknown records, 2 old LSPCI lines, 1 "
                                  "malformed record)");
}

TEST(LenientReader, StrictReaderRefusesTheSameLogAtItsFirstBadLine) {
  TemporaryFile log;
  log.set_content(kDamagedKernelLog);
  EXPECT_EQ(error_of(log.path()).rfind(log.path() + ": line 2: an LSPCI line", 0), 0u);
}

// A recording killed mid-write (Ctrl-C, a crash, a full disk): the last line has no newline.
TEST(LenientReader, CutLastTextLineEndsTheTraceAfterEveryLineBeforeIt) {
  TemporaryFile log;
  log.set_content(
      "VERSION 20070824\nMAP 1.000000 1 0x0 0x7f0000000000 0x1000 0x401000 7\n"
      "R 4 1.000001 1 0x10 0x5 0x401234 7\nR 4 1.000002 1 0x10 0x5 0x4012");
  LenientRead read = read_leniently(log.path());
  ASSERT_EQ(read.events.size(), 2u);
  ASSERT_EQ(read.warnings.size(), 2u) << warnings_of(read);
  EXPECT_EQ(read.warnings[0],
            log.path() +
                ": line 4: the trace ends in the middle of this line (it has no newline): "
                "\"R 4 1.000002 1 0x10 0x5 0x4012\" (the trace is read up to there; --strict "
                "refuses the trace)");
  EXPECT_EQ(read.warnings[1], log.path() + ": 1 line not read (1 cut short)");
}

TEST(LenientReader, CutLastBinaryRecordEndsTheTraceAfterEveryRecordBeforeIt) {
  TemporaryFile log, binary;
  log.set_content(kKernelLog);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  std::string bytes = binary.content();
  binary.set_content(bytes.substr(0, bytes.size() - 20));  // into the last UNMAP
  LenientRead read = read_leniently(binary.path());
  EXPECT_EQ(read.events.size(), 12u);
  ASSERT_EQ(read.warnings.size(), 2u) << warnings_of(read);
  EXPECT_NE(read.warnings[0].find(": the last record is cut short (the trace is read up to there"),
            std::string::npos)
      << read.warnings[0];
  EXPECT_EQ(read.warnings[1], binary.path() + ": 1 record not read (1 cut short)");
}

TEST(LenientReader, BinaryRecordThatCannotBeDecodedIsSkipped) {
  TemporaryFile log, binary;
  log.set_content(kKernelLog);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  std::string bytes = binary.content();
  // The third record is the MAP (after two PCIDEV records): its length 0 is out of range.
  size_t offset = 64;
  for (int i = 0; i < 2; ++i) {
    uint16_t size;
    std::memcpy(&size, &bytes[offset + 2], 2);
    offset += size;
  }
  ASSERT_EQ(bytes[offset], static_cast<char>(RecordKind::Map));
  std::memset(&bytes[offset + 32 + 16], 0, 8);
  binary.set_content(bytes);
  LenientRead read = read_leniently(binary.path());
  EXPECT_EQ(read.events.size(), 12u);
  ASSERT_EQ(read.warnings.size(), 2u) << warnings_of(read);
  EXPECT_EQ(read.warnings[0], binary.path() + ": offset " + std::to_string(offset) +
                                  ": the mapping's length is out of range (skipped; --strict "
                                  "refuses the trace)");
  EXPECT_EQ(error_of(binary.path()), binary.path() + ": offset " + std::to_string(offset) +
                                         ": the mapping's length is out of range");
}

// A record of impossible size: where the next one starts is unknown, so nothing after it is read
// (the bytes after its header would be taken for records), however often next() is called.
TEST(LenientReader, BinaryRecordOfImpossibleSizeEndsTheTrace) {
  TemporaryFile log, binary;
  log.set_content(kKernelLog);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  std::string bytes = binary.content();
  bytes[64 + 2] = 3;  // the first record's size
  binary.set_content(bytes);
  LenientRead read = read_leniently(binary.path());
  EXPECT_TRUE(read.events.empty());
  ASSERT_EQ(read.warnings.size(), 2u) << warnings_of(read);
  EXPECT_EQ(read.warnings[0], binary.path() +
                                  ": offset 64: a record has an impossible size (3) (the trace is "
                                  "read up to there; --strict refuses the trace)");
  EXPECT_EQ(read.warnings[1], binary.path() + ": 1 record not read (1 malformed record)");
}

TEST(LenientReader, OutOfRangeValuesAreErrorsNotWrappedOrMasked) {
  TemporaryFile log;
  const std::pair<const char*, const char*> kBad[] = {
      {"R 4 99999999999999999999.999999 1 0x10 0x5 0x0 0\n", "time out of range"},
      {"R 4 18446744073.709552 1 0x10 0x5 0x0 0\n", "time out of range"},
      {"W 1 1.000000 1 0x10 0x1ff 0x0 0\n", "value out of range for 1 bytes"},
      {"W 2 1.000000 1 0x10 0x10000 0x0 0\n", "value out of range for 2 bytes"},
      {"R 4 1.000000 0 0x10 0x5 0x0 0\n", "map id out of range (0)"},
      {"R 4 1.000000 -2 0x10 0x5 0x0 0\n", "map id out of range (-2)"},
      {"R 4 1.000000 4294967297 0x10 0x5 0x0 0\n", "map id out of range"},
      {"MAP 1.000000 -1 0x0 0x1000 0x1000 0x0 0\n", "map id out of range (-1)"},
      {"MAP 1.000000 1 0x0 0x1000 0xffffffffffffffff 0x0 0\n", "length out of range"},
      {"MAP 1.000000 1 0x0 0x1000 0x0 0x0 0\n", "length out of range"},
      {"R 4 1.000000 1 0x10 0x10000000000000000 0x0 0\n", "value out of range"},
      {"R 4 1.000000 1 0x10 0x5 0x0 2147483648\n", "pid out of range"},
  };
  for (const auto& [line, why] : kBad) {
    log.set_content(std::string("VERSION 20070824\n") + line);
    EXPECT_NE(error_of(log.path()).find(": line 2: " + std::string(why)), std::string::npos)
        << line << error_of(log.path());
    LenientRead read = read_leniently(log.path());
    EXPECT_TRUE(read.events.empty()) << line;
    EXPECT_NE(warnings_of(read).find("1 value out of range"), std::string::npos) << line;
  }
  // The largest values that fit are read.
  log.set_content(
      "W 1 1.000000 -1 0x10 0xff 0x0 0\nR 8 18446744073.709551 2147483647 0x10 "
      "0xffffffffffffffff 0x0 -2147483648\nMAP 1.000000 1 0x0 0x1000 0xffffffffffffefff 0x0 0\n");
  EXPECT_EQ(error_of(log.path()), "no error");
}

TEST(LenientReader, EmptyFileIsRefusedAsEmptyAndCutShort) {
  TemporaryFile empty;
  empty.set_content("");
  const std::string kWhy =
      ": the file is empty: a trace cut short before its first line, or not "
      "a trace";
  EXPECT_EQ(error_of(empty.path()), empty.path() + kWhy);
  ReadOptions lenient;
  lenient.strict = false;
  EXPECT_THROW(TraceReader::open(empty.path(), lenient), TraceReadError);
  // Compressed nothing is as empty.
  empty.set_content(compressed("", Method::Gzip));
  EXPECT_EQ(error_of(empty.path()), empty.path() + kWhy);
}

// Nothing is cut silently: a text longer than the binary format keeps is refused, or skipped
// with a warning, never shortened; texts up to that length round-trip whole.
TEST(LenientReader, OverlongMarkersAndLinesAreRefusedNotCut) {
  TemporaryFile log, binary, text;
  std::string longest(kMaxTextLength, 'm');
  log.set_content("VERSION 20070824\nMARK 1.000000 " + longest + "\n");
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  copy(binary.path(), text.path(), TraceFormat::Text, false);
  EXPECT_EQ(text.content(), log.content());

  log.set_content("VERSION 20070824\nMARK 1.000000 " + longest + "m\n");
  EXPECT_EQ(error_of(log.path()), log.path() +
                                      ": line 2: a marker text of 4001 bytes, longer "
                                      "than the 4000 mmiotrace keeps in \"MARK "
                                      "1.000000 " +
                                      std::string(66, 'm') + "\"");
  log.set_content("VERSION 20070824\nMARK 1.000000 " + std::string(100000, 'x') +
                  "\nR 4 1.000001 1 0x10 0x5 0x0 0\n");
  EXPECT_NE(error_of(log.path()).find(": line 2: a line longer than 65536 bytes"),
            std::string::npos);
  LenientRead read = read_leniently(log.path());
  ASSERT_EQ(read.events.size(), 1u);  // the line after the long one is read
  EXPECT_EQ(read.events[0].kind, EventKind::Read);
  EXPECT_NE(warnings_of(read).find("1 line not read (1 too long)"), std::string::npos);
}

// The kernel's `trace` file (not `trace_pipe`): ftrace's header, no VERSION line.
const char kFtraceTraceFile[] =
    "# tracer: mmiotrace\n"
    "#\n"
    "# entries-in-buffer/entries-written: 3/3   #P:2\n"
    "#\n"
    "MAP 81.403176 1 0xfd000000 0xffffc20000100000 0x1000000 0x0 0\n"
    "R 4 81.403200 1 0xfd000000 0x40a200a2 0x0 0\n"
    "UNMAP 82.000000 1 0x0 0\n";

TEST(TraceReader, FtraceHeaderAndCommentsAreReadAndKept) {
  TemporaryFile log, text, binary, back;
  log.set_content(kFtraceTraceFile);
  std::vector<std::string> texts;
  std::vector<Event> events = read_all(log.path(), &texts);  // strict: nothing refused
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[0].kind, EventKind::Comment);
  EXPECT_EQ(texts[0], "# tracer: mmiotrace");
  EXPECT_EQ(texts[1], "#");
  EXPECT_EQ(events[4].kind, EventKind::Map);
  // dump writes them back after its VERSION line; the binary format keeps them too.
  const std::string kDumped = std::string("VERSION 20070824\n") + kFtraceTraceFile;
  copy(log.path(), text.path(), TraceFormat::Text, false);
  EXPECT_EQ(text.content(), kDumped);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  copy(binary.path(), back.path(), TraceFormat::Text, false);
  EXPECT_EQ(back.content(), kDumped);
}

// Two recordings appended to one file (`cat a.txt b.txt`, `cat a.bin b.bin`): two segments,
// the second opened by a Segment event, kept as such by both formats.
TEST(TraceReader, CapturesAppendedToOneFileAreReadAsSegments) {
  const std::string kFirst =
      "VERSION 20070824\nMAP 1.000000 1 0xfd000000 0x7f0000000000 0x1000 0x0 7\n"
      "W 4 1.000001 1 0xfd000010 0x5 0x0 7\n";
  const std::string kSecond =
      "VERSION 20070824\nMAP 9.000000 1 0xfe000000 0x7f0000001000 0x2000 0x0 8\n"
      "R 4 9.000001 1 0xfe000020 0x7 0x0 8\n";
  TemporaryFile log, binary, back;
  log.set_content(kFirst + kSecond);
  std::vector<Event> events = read_all(log.path());
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].kind, EventKind::Segment);
  EXPECT_EQ(events[3].phys, 0xfe000000u);
  copy(log.path(), binary.path(), TraceFormat::Binary, false);
  copy(binary.path(), back.path(), TraceFormat::Text, false);
  EXPECT_EQ(back.content(), kFirst + kSecond);

  // Binary files one after the other: the second's file header starts a segment.
  TemporaryFile first, second, both;
  first.set_content(kFirst);
  second.set_content(kSecond);
  TemporaryFile first_bin, second_bin;
  copy(first.path(), first_bin.path(), TraceFormat::Binary, false);
  copy(second.path(), second_bin.path(), TraceFormat::Binary, false);
  both.set_content(first_bin.content() + second_bin.content());
  copy(both.path(), back.path(), TraceFormat::Text, false);
  EXPECT_EQ(back.content(), kFirst + kSecond);
  // A second capture whose records are compressed cannot be read after the first's.
  TemporaryFile second_zstd;
  copy(second.path(), second_zstd.path(), TraceFormat::Binary, true);
  both.set_content(first_bin.content() + second_zstd.content());
  EXPECT_NE(error_of(both.path()).find("another capture, appended to the file, whose records"),
            std::string::npos)
      << error_of(both.path());
}

}  // namespace
}  // namespace mmiotrace::trace
