// Unit tests for trace/trace_writer: the text writer's lines, from records as the drainer gives
// them, are those format_text() makes of their events; zstd and gzip text decompresses to the
// same text; a write that fails partway leaves the file at its last whole event and counts what
// the file lacks; the discarding writer counts. (Reading back: trace_reader_test.cpp.)
#include "trace/trace_writer.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/access_record.hpp"
#include "trace/binary_format.hpp"
#include "trace/text_format.hpp"
#include "trace/trace_reader.hpp"
#include "trace_file_support.hpp"

namespace mmiotrace::trace {
namespace {

using mmiotrace::testing::TemporaryFile;

Event sample(EventKind kind, uint64_t n) {
  Event event;
  event.kind = kind;
  // Map ids as the recorder makes them (positive), or the kernel's -1 for an unknown mapping.
  event.map_id = kind == EventKind::Map ? static_cast<int32_t>(n % 4) + 1
                 : n % 5 == 0           ? kUnknownMapId
                                        : static_cast<int32_t>(n % 5);
  event.pid = static_cast<int32_t>(1000 + n);
  event.tid = event.pid;
  event.time_ns = 1'000'000'000ull * n + 499 + n;
  event.phys = 0xfe000000 + 8 * n;
  event.virt = 0x7f0000000000 + 8 * n;
  event.length = 0x1000;
  event.pc = 0x401000 + n;
  event.width = 4;
  std::memcpy(event.value, &n, sizeof(n));
  return event;
}

// Records of every kind, access runs of both entry forms and strided ones among them, as a ring
// holds them; with
// `wide`, a 32-byte write too (which text writes as four lines).
std::vector<uint8_t> records_of_every_kind(std::vector<AccessRecord>& accesses, bool wide = true) {
  std::mt19937_64 random(17);
  accesses.clear();
  for (uint64_t i = 0; i < 600; ++i) {
    uint64_t width = uint64_t{1} << (i % 4);
    uint64_t value = i % 7 == 0 ? 0 : i % 7 == 1 ? ~uint64_t{0} : random();
    // The PCs of the second half lie too far apart for compact entries: wide ones.
    uint64_t pc = i < 300 ? 0x55d0c0de1000 + (random() & 0xfff) : (random() & 0xffffffffffff);
    accesses.push_back(
        {0x7f0000001000 + 8 * (i % 512), value, pc, width | (i % 3 == 0 ? kAccessWrite : 0)});
  }
  // A loop: three streams (a read, a write of the value it read, and one of 2 bytes going down),
  // then one of a register polled until its value changes.
  for (uint64_t i = 0; i < 100; ++i) {
    const uint64_t value = random();
    accesses.push_back({0x7f0000001000 + 8 * i, value, 0x55d0c0de2000, 8});
    accesses.push_back({0x7f0000003000 + 8 * i, value, 0x55d0c0de2008, 8 | kAccessWrite});
    accesses.push_back({0x7f0000005000 - 2 * i, random(), 0x55d0c0de2010, 2 | kAccessWrite});
  }
  for (uint64_t i = 0; i < 100; ++i)
    accesses.push_back({0x7f0000001010, i < 90 ? 1u : 3u, 0x55d0c0de2020, 4});
  SmallAccessRun run;
  run.map_id = 3;
  run.virt_base = 0x7f0000001000;
  run.phys_base = 0xfebf0000;
  run.time_ns = 12'345'678'901;
  run.pid = 4242;
  run.tid = 4243;
  run.records = accesses.data();
  std::vector<uint8_t> records;
  auto add_record = [&](const uint8_t* record, size_t size) {
    records.insert(records.end(), record, record + size);
  };
  std::vector<uint8_t> record(kMaxRecordSize);
  for (EventKind kind : {EventKind::Map, EventKind::Read, EventKind::Write, EventKind::Unknown}) {
    Event event = sample(kind, records.size());
    add_record(record.data(), encode_record(event, record.data()));
  }
  add_record(record.data(), encode_access_run(run, 0, 300, record.data()));
  if (wide) {
    Event write = sample(EventKind::Write, 9);
    write.width = 32;
    for (unsigned i = 0; i < 32; ++i)
      write.value[i] = static_cast<uint8_t>(0x11 * i);
    add_record(record.data(), encode_record(write, record.data()));
  }
  add_record(record.data(), encode_access_run(run, 300, 300, record.data()));
  const size_t strided = encode_access_run(run, 600, 400, record.data());
  EXPECT_EQ(record[0], static_cast<uint8_t>(RecordKind::StridedRun));
  add_record(record.data(), strided);
  Event mark = sample(EventKind::Mark, 3);
  mark.text = "between runs";
  mark.text_length = 12;
  add_record(record.data(), encode_record(mark, record.data()));
  Event lost = sample(EventKind::Lost, 4);
  lost.length = 77;
  add_record(record.data(), encode_record(lost, record.data()));
  add_record(record.data(), encode_record(sample(EventKind::Unmap, 5), record.data()));
  return records;
}

// The text of `records` made event by event, as format_text() writes each.
std::string text_of(const std::vector<uint8_t>& records) {
  std::string text(kTextVersionLine);
  for (size_t offset = 0; offset < records.size();) {
    const char* why = "";
    size_t size = decode_events(records.data() + offset, records.size() - offset, &why,
                                [&](const Event& event) {
                                  FixedText<kMaxFormattedEvent> line;
                                  format_text(event, line);
                                  text += line.view();
                                });
    EXPECT_NE(size, 0u) << why;
    if (size == 0) break;
    offset += size;
  }
  return text;
}

std::string write_text(const std::vector<uint8_t>& records, TraceCompression compression) {
  TemporaryFile file;
  auto writer =
      TraceWriter::create(file.open_for_writing(), file.path(), TraceFormat::Text, compression);
  writer->write_records(records.data(), records.size());
  writer->close();
  return file.content();
}

std::string zstd_decompressed(const std::string& compressed) {
  std::string out;
  ZSTD_DStream* stream = ZSTD_createDStream();
  ZSTD_inBuffer in = {compressed.data(), compressed.size(), 0};
  std::vector<char> chunk(1 << 16);
  while (in.pos < in.size) {
    ZSTD_outBuffer o = {chunk.data(), chunk.size(), 0};
    size_t status = ZSTD_decompressStream(stream, &o, &in);
    if (ZSTD_isError(status)) break;
    out.append(chunk.data(), o.pos);
    if (o.pos == 0 && status != 0) break;
  }
  ZSTD_freeDStream(stream);
  return out;
}

std::string gzip_decompressed(const std::string& compressed) {
  std::string out;
  z_stream stream = {};
  inflateInit2(&stream, 15 + 16);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::vector<char> chunk(1 << 16);
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    int status = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - stream.avail_out);
    if (status != Z_OK) break;
  }
  inflateEnd(&stream);
  return out;
}

TEST(TraceWriter, TextFromRecordsIsWhatFormatTextMakesOfTheirEvents) {
  std::vector<AccessRecord> accesses;
  std::vector<uint8_t> records = records_of_every_kind(accesses);
  std::string expected = text_of(records);
  ASSERT_GT(expected.size(), 600 * 50u);
  EXPECT_EQ(write_text(records, TraceCompression::None), expected);
  // Record by record, as a drain of several rings may give them.
  TemporaryFile file;
  auto writer = TraceWriter::create(file.open_for_writing(), file.path(), TraceFormat::Text,
                                    TraceCompression::None);
  for (size_t offset = 0; offset < records.size();) {
    RecordHeader header;
    std::memcpy(&header, records.data() + offset, sizeof(header));
    writer->write_records(records.data() + offset, header.size);
    offset += header.size;
  }
  writer->close();
  EXPECT_EQ(file.content(), expected);
}

TEST(TraceWriter, TextOfManyChunksIsWrittenWhole) {
  std::vector<AccessRecord> accesses;
  std::vector<uint8_t> records = records_of_every_kind(accesses);
  std::vector<uint8_t> many;
  for (int i = 0; i < 60; ++i)  // about 2.5 MB of text: three chunks
    many.insert(many.end(), records.begin(), records.end());
  EXPECT_EQ(write_text(many, TraceCompression::None), text_of(many));
}

TEST(TraceWriter, CompressedTextDecompressesToTheSameText) {
  std::vector<AccessRecord> accesses;
  std::vector<uint8_t> records = records_of_every_kind(accesses);
  std::string expected = text_of(records);
  std::string zstd = write_text(records, TraceCompression::Zstd);
  ASSERT_EQ(zstd.substr(0, 4), "\x28\xb5\x2f\xfd");
  EXPECT_EQ(zstd_decompressed(zstd), expected);
  std::string gzip = write_text(records, TraceCompression::Gzip);
  ASSERT_EQ(gzip.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(gzip_decompressed(gzip), expected);
  EXPECT_LT(zstd.size(), expected.size() / 2);
  EXPECT_LT(gzip.size(), expected.size() / 2);
}

TEST(TraceWriter, FlushedCompressedTextDecompressesUpToTheFlush) {
  for (TraceCompression compression : {TraceCompression::Zstd, TraceCompression::Gzip}) {
    TemporaryFile file;
    auto writer =
        TraceWriter::create(file.open_for_writing(), file.path(), TraceFormat::Text, compression);
    Event event = sample(EventKind::Read, 1);
    writer->write_event(event);
    writer->flush();
    FixedText<kMaxFormattedEvent> line;
    format_text(event, line);
    std::string expected = std::string(kTextVersionLine) + std::string(line.view());
    std::string content = file.content();
    EXPECT_EQ(compression == TraceCompression::Zstd ? zstd_decompressed(content)
                                                    : gzip_decompressed(content),
              expected);
    writer->close();
  }
}

TEST(TraceWriter, OutputNamesSayFormatAndCompression) {
  struct Case {
    const char* name;
    TraceFormat format;
    TraceCompression compression;
  };
  for (const Case& c : {Case{"a.txt", TraceFormat::Text, TraceCompression::None},
                        Case{"a.log", TraceFormat::Text, TraceCompression::None},
                        Case{"a.bin", TraceFormat::Binary, TraceCompression::None},
                        Case{"a.zst", TraceFormat::Text, TraceCompression::Zstd},
                        Case{"a.txt.zst", TraceFormat::Text, TraceCompression::Zstd},
                        Case{"a.gz", TraceFormat::Text, TraceCompression::Gzip},
                        Case{"a.bin.zst", TraceFormat::Binary, TraceCompression::Zstd},
                        Case{"a.bin.gz", TraceFormat::Binary, TraceCompression::Gzip}}) {
    std::optional<TraceOutputKind> kind = output_kind_of_name(c.name);
    ASSERT_TRUE(kind.has_value()) << c.name;
    EXPECT_EQ(kind->format, c.format) << c.name;
    EXPECT_EQ(kind->compression, c.compression) << c.name;
  }
  EXPECT_FALSE(output_kind_of_name("trace").has_value());
  EXPECT_FALSE(output_kind_of_name("trace.xz").has_value());
  EXPECT_TRUE(names_unwritable_compression("trace.txt.xz"));
  EXPECT_FALSE(names_unwritable_compression("trace.zst"));
}

// Files may grow to `bytes` only, for the scope: a write past that fails (EFBIG) after writing
// what fits, as on a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    set(bytes);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }
  void set(rlim_t bytes) {
    struct rlimit limit = {bytes, old_.rlim_max};
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  void lift() { setrlimit(RLIMIT_FSIZE, &old_); }

 private:
  struct rlimit old_ = {};
  sighandler_t old_handler_ = SIG_DFL;
};

// What reading the trace file gives: its events (a LOST record counting the events it stands
// for), the last one apart; and the error that ended the reading, if any.
struct Readback {
  uint64_t events = 0;  // before the last
  Event last;
  bool any = false;
  std::string error;
};
Readback read_back(const std::string& path) {
  Readback result;
  try {
    auto reader = TraceReader::open(path);
    Event event;
    while (reader->next(event)) {
      if (result.any) result.events += result.last.kind == EventKind::Lost ? result.last.length : 1;
      result.last = event;
      result.any = true;
    }
  } catch (const TraceReadError& error) {
    result.error = error.what();
  }
  return result;
}

TEST(TraceWriter, AFailedWriteLeavesWholeEventsAndCountsTheRest) {
  std::vector<AccessRecord> accesses;
  std::vector<uint8_t> records = records_of_every_kind(accesses, false);
  for (TraceFormat format : {TraceFormat::Text, TraceFormat::Binary}) {
    SCOPED_TRACE(format == TraceFormat::Text ? "text" : "binary");
    TemporaryFile file;
    FileSizeLimit limit(100'000);
    auto writer =
        TraceWriter::create(file.open_for_writing(), file.path(), format, TraceCompression::None);
    uint64_t given = 0;
    bool failed = false;
    for (int i = 0; i < 200 && !failed; ++i) {
      try {
        // A record at a time, counting what was given (LOST counts the events it stands for).
        for (size_t offset = 0; offset < records.size();) {
          RecordHeader header;
          std::memcpy(&header, records.data() + offset, sizeof(header));
          given += header.kind == static_cast<uint8_t>(RecordKind::AccessRun) ||
                           header.kind == static_cast<uint8_t>(RecordKind::StridedRun)
                       ? record_event_count(records.data() + offset)
                   : header.kind == static_cast<uint8_t>(RecordKind::Lost) ? 77
                                                                           : 1;
          writer->write_records(records.data() + offset, header.size);
          offset += header.size;
        }
        writer->flush();
      } catch (const TraceWriteError& error) {
        failed = true;
        EXPECT_NE(std::string(error.what()).find(file.path()), std::string::npos);
        EXPECT_EQ(error.error_number(), EFBIG);
      }
    }
    ASSERT_TRUE(failed);
    EXPECT_THROW(writer->write_event(sample(EventKind::Read, 1)), TraceWriteError);
    uint64_t lost = writer->events_lost();
    EXPECT_GT(lost, 0u);
    EXPECT_LT(lost, given);
    limit.lift();  // room again, as when the cut frees some: the LOST record fits
    writer->end_after_failure(lost);
    // Every event the writer was given is in the file or counted lost, in a LOST record at its
    // end; none is both.
    Readback back = read_back(file.path());
    EXPECT_EQ(back.error, "");
    EXPECT_EQ(back.last.kind, EventKind::Lost);
    EXPECT_EQ(back.last.length, lost);
    EXPECT_EQ(back.events + lost, given);
  }
}

TEST(TraceWriter, AFailedCompressedWriteKeepsWhatWasFlushed) {
  for (TraceCompression compression : {TraceCompression::Zstd, TraceCompression::Gzip}) {
    TemporaryFile file;
    FileSizeLimit limit(64 << 10);
    auto writer =
        TraceWriter::create(file.open_for_writing(), file.path(), TraceFormat::Text, compression);
    writer->write_event(sample(EventKind::Map, 1));
    writer->flush();
    uint64_t after_flush = 0;
    std::mt19937_64 random(5);
    try {
      for (;;) {  // incompressible values: the file soon reaches the limit
        Event event = sample(EventKind::Write, random());
        event.width = 8;
        writer->write_event(event);
        ++after_flush;
      }
    } catch (const TraceWriteError& error) {
      EXPECT_EQ(error.error_number(), EFBIG);
    }
    EXPECT_EQ(writer->events_lost(), after_flush + 1);  // the one whose write failed too
    limit.lift();
    writer->end_after_failure(writer->events_lost());
    // The file ends where the flush left it: the MAP, then a stream the reader says is cut.
    Readback back = read_back(file.path());
    EXPECT_TRUE(back.any);
    EXPECT_EQ(back.events, 0u);
    EXPECT_EQ(back.last.kind, EventKind::Map);
    EXPECT_NE(back.error.find("data is cut short"), std::string::npos) << back.error;
  }
}

TEST(TraceWriter, DiscardingWriterCountsEventsAndTheLostOnesTheyStandFor) {
  std::vector<AccessRecord> accesses;
  std::vector<uint8_t> records = records_of_every_kind(accesses);
  auto writer = TraceWriter::discarding();
  writer->write_records(records.data(), records.size());
  Event lost = sample(EventKind::Lost, 1);
  lost.length = 5;
  writer->write_event(lost);
  writer->write_event(sample(EventKind::Mark, 2));
  // 4 single records, 600 run entries, 400 strided run entries, the wide write, the mark, the
  // LOST (77), the unmap; then a LOST of 5 and a mark.
  EXPECT_EQ(writer->events_lost(), 4 + 600 + 400 + 1 + 1 + 77 + 1 + 5 + 1u);
}

}  // namespace
}  // namespace mmiotrace::trace
