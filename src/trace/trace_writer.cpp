// Writing trace files (see trace_writer.hpp).
#include "trace/trace_writer.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/fixed_text.hpp"
#include "trace/binary_format.hpp"
#include "trace/text_format.hpp"

namespace mmiotrace::trace {
namespace {

constexpr size_t kChunk = 1 << 20;               // output collected before it is written out
constexpr size_t kWriteDirectlyFrom = 64 << 10;  // binary spans this large skip the chunk

uint64_t get64(const uint8_t* at) {
  uint64_t value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

[[noreturn]] void bad_record(const char* why) {
  throw TraceWriteError(std::string("internal error: bad record: ") + why);
}

// The header of the record at `record` (`available` bytes there), checked to fit.
RecordHeader record_header(const uint8_t* record, size_t available) {
  RecordHeader header;
  if (available < sizeof(header)) bad_record("the record is cut short");
  std::memcpy(&header, record, sizeof(header));
  if (header.size < sizeof(header) || header.size % 8 != 0) {
    bad_record("the record has an impossible size");
  }
  if (header.size > available) bad_record("the record is cut short");
  return header;
}

// The events a record stands for, as events_lost() counts them: those of an access run, the
// count of a LOST record, one for any other.
uint64_t events_of_record(const uint8_t* record, const RecordHeader& header) {
  switch (static_cast<RecordKind>(header.kind)) {
    case RecordKind::AccessRun:
      if ((header.width != kAccessRunCompactEntrySize && header.width != kAccessRunWideEntrySize) ||
          header.size < access_run_size(1, header.width)) {
        bad_record("the access run is malformed");
      }
      return (header.size - kAccessRunHeaderSize) / header.width;
    case RecordKind::StridedRun: {
      StridedRunLayout layout;
      const char* why = "";
      if (!read_strided_run(record, header.size, &layout, &why)) bad_record(why);
      return layout.count;
    }
    case RecordKind::Lost:
      return header.size >= sizeof(header) + 8 ? get64(record + sizeof(header)) : 0;
    default:
      return 1;
  }
}

uint64_t events_of(const Event& event) {
  return event.kind == EventKind::Lost ? event.length : 1;
}

// The file a writer writes, through write(2), with what reached it counted so that a failed
// write can be cut back to its last whole event.
class OutputFile {
 public:
  OutputFile(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    struct stat status;
    if (fd_ >= 0 && fstat(fd_, &status) == 0 && S_ISREG(status.st_mode)) {
      off_t at = lseek(fd_, 0, SEEK_CUR);
      regular_ = at >= 0;
      start_ = at >= 0 ? static_cast<uint64_t>(at) : 0;
    }
  }
  ~OutputFile() { close_quietly(); }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Bytes this writer wrote, all of which reached the file.
  uint64_t written() const { return written_; }

  // Writes all of it, or throws TraceWriteError (written() then says how much went out).
  void write(const void* data, size_t size) {
    if (fd_ < 0) throw TraceWriteError("cannot write to '" + name_ + "': it is closed");
    const auto* cursor = static_cast<const uint8_t*>(data);
    while (size > 0) {
      ssize_t done = ::write(fd_, cursor, size);
      if (done < 0 && errno == EINTR) continue;
      if (done <= 0) fail(done < 0 ? errno : EIO);
      cursor += done;
      size -= static_cast<size_t>(done);
      written_ += static_cast<uint64_t>(done);
    }
  }

  // Drops what this writer wrote after its first `size` bytes, when the file is a regular file.
  // Returns whether the file now ends there.
  bool cut_to(uint64_t size) {
    if (!regular_ || fd_ < 0) return false;
    auto end = static_cast<off_t>(start_ + size);
    if (ftruncate(fd_, end) != 0 || lseek(fd_, end, SEEK_SET) != end) return false;
    written_ = size;
    return true;
  }

  void close() {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) fail(errno);
  }
  void close_quietly() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  [[noreturn]] void fail(int error) const {
    throw TraceWriteError("cannot write to '" + name_ + "': " + strerror(error), error);
  }

 private:
  int fd_;
  std::string name_;
  bool regular_ = false;
  uint64_t start_ = 0;  // the file's offset when the writer got it
  uint64_t written_ = 0;
};

// A compressed stream into the file.
class Compressor {
 public:
  explicit Compressor(OutputFile& file) : file_(file), out_(kChunk) {}
  virtual ~Compressor() = default;
  virtual void compress(const void* data, size_t size) = 0;
  // Everything given so far is in the file, and decompresses from it.
  virtual void flush() = 0;
  // Ends the stream, and flushes.
  virtual void finish() = 0;

 protected:
  // out_[0, used) holds compressed bytes not written yet.
  void write_out(size_t used) {
    if (used > 0) file_.write(out_.data(), used);
  }
  OutputFile& file_;
  std::vector<uint8_t> out_;
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(OutputFile& file) : Compressor(file), context_(ZSTD_createCCtx()) {
    if (context_ == nullptr) throw TraceWriteError("zstd: cannot make a compression context");
    ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, 1);
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(context_); }
  void compress(const void* data, size_t size) override {
    ZSTD_inBuffer input = {data, size, 0};
    while (input.pos < input.size)
      step(&input, ZSTD_e_continue);
  }
  void flush() override { end(ZSTD_e_flush); }
  void finish() override { end(ZSTD_e_end); }

 private:
  void end(ZSTD_EndDirective mode) {
    ZSTD_inBuffer input = {nullptr, 0, 0};
    while (step(&input, mode) != 0) {
    }
    write_out(used_);
    used_ = 0;
  }
  size_t step(ZSTD_inBuffer* input, ZSTD_EndDirective mode) {
    ZSTD_outBuffer output = {out_.data(), out_.size(), used_};
    size_t remaining = ZSTD_compressStream2(context_, &output, input, mode);
    if (ZSTD_isError(remaining)) {
      throw TraceWriteError(std::string("zstd: ") + ZSTD_getErrorName(remaining));
    }
    used_ = output.pos;
    if (used_ == out_.size()) {
      write_out(used_);
      used_ = 0;
    }
    return remaining;
  }

  ZSTD_CCtx* context_;
  size_t used_ = 0;
};

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(OutputFile& file) : Compressor(file) {
    // Level 1: traces are large and repetitive; windowBits 15 + 16 asks for a gzip wrapper.
    if (deflateInit2(&stream_, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw TraceWriteError("zlib: cannot make a compression stream");
    }
  }
  ~GzipCompressor() override { deflateEnd(&stream_); }
  void compress(const void* data, size_t size) override {
    // zlib's sizes are 32 bits: large spans go in pieces.
    const auto* bytes = static_cast<const uint8_t*>(data);
    while (size > 0) {
      size_t piece = size < (1u << 30) ? size : (1u << 30);
      stream_.next_in = const_cast<Bytef*>(bytes);
      stream_.avail_in = static_cast<uInt>(piece);
      while (stream_.avail_in > 0)
        step(Z_NO_FLUSH);
      bytes += piece;
      size -= piece;
    }
  }
  void flush() override { end(Z_SYNC_FLUSH); }
  void finish() override { end(Z_FINISH); }

 private:
  void end(int mode) {
    stream_.next_in = nullptr;
    stream_.avail_in = 0;
    // Done when deflate no longer fills the output (Z_SYNC_FLUSH) or has ended the stream.
    for (;;) {
      bool filled = false;
      int status = step(mode, &filled);
      if (mode == Z_FINISH ? status == Z_STREAM_END : !filled) break;
    }
    write_out(used_);
    used_ = 0;
  }
  int step(int mode, bool* filled = nullptr) {
    stream_.next_out = out_.data() + used_;
    stream_.avail_out = static_cast<uInt>(out_.size() - used_);
    int status = deflate(&stream_, mode);
    if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
      throw TraceWriteError(std::string("zlib: ") + (stream_.msg ? stream_.msg : "deflate failed"));
    }
    used_ = out_.size() - stream_.avail_out;
    if (used_ == out_.size()) {
      if (filled) *filled = true;
      write_out(used_);
      used_ = 0;
    }
    return status;
  }

  z_stream stream_ = {};
  size_t used_ = 0;
};

std::unique_ptr<Compressor> make_compressor(TraceCompression compression, OutputFile& file) {
  switch (compression) {
    case TraceCompression::Zstd:
      return std::make_unique<ZstdCompressor>(file);
    case TraceCompression::Gzip:
      return std::make_unique<GzipCompressor>(file);
    case TraceCompression::None:
      break;
  }
  return nullptr;
}

// What the two writers share: the file, the compressor, the events counted in and out, and the
// failure that ends them.
class FileTraceWriter : public TraceWriter {
 public:
  FileTraceWriter(int fd, std::string name) : file_(fd, std::move(name)) {}

  uint64_t events_lost() const final { return failure_ ? given_ - in_file_ : 0; }
  void end_after_failure(uint64_t lost) override = 0;

  void flush() final {
    guarded([&] {
      write_chunk();
      if (compressor_) {
        compressor_->flush();
        all_in_file();
      }
    });
  }

  void close() final {
    guarded([&] {
      write_chunk();
      if (compressor_) {
        compressor_->finish();
        all_in_file();
      }
      file_.close();
    });
  }

 protected:
  // What the writer holds and has not written out (or into the compressor) yet, out.
  virtual void write_chunk() = 0;

  // Runs `action`; once one has thrown TraceWriteError, every later one throws it again.
  template <typename Action>
  void guarded(Action&& action) {
    if (failure_) throw *failure_;
    try {
      action();
    } catch (const TraceWriteError& error) {
      failure_ = error;
      throw;
    }
  }

  // The file is written up to here: everything given is in it (and, compressed, decompresses).
  void all_in_file() {
    in_file_ = given_;
    cut_point_ = file_.written();
  }

  void end_file_after_failure(const void* lost_record, size_t size) {
    bool cut = file_.cut_to(cut_point_);
    if (cut && compressor_ == nullptr && lost_record != nullptr) {
      try {
        file_.write(lost_record, size);
      } catch (const TraceWriteError&) {
        file_.cut_to(cut_point_);
      }
    }
    file_.close_quietly();
  }

  OutputFile file_;
  std::unique_ptr<Compressor> compressor_;
  uint64_t given_ = 0;      // events given to the writer
  uint64_t in_file_ = 0;    // ... of which the file has whole, up to cut_point_
  uint64_t cut_point_ = 0;  // bytes of the file that end at an event (and, compressed, a flush)
  std::optional<TraceWriteError> failure_;
};

// The kernel's text, formatted straight into a chunk that is written out (or compressed) whole.
// (A thread of its own writing out one chunk while the next fills was tried: on two shared cores
// it was slower, the chunk no longer hot in the cache of the core that copies it to the file.)
class TextTraceWriter final : public FileTraceWriter {
 public:
  TextTraceWriter(int fd, std::string name, TraceCompression compression)
      : FileTraceWriter(fd, std::move(name)), chunk_(new char[kCapacity]) {
    compressor_ = make_compressor(compression, file_);
    boundaries_.reserve(kChunk / 64);
    std::memcpy(chunk_.get(), kTextVersionLine.data(), kTextVersionLine.size());
    used_ = kTextVersionLine.size();
    record_boundary(0);
  }
  TraceFormat format() const override { return TraceFormat::Text; }

  void write_records(const uint8_t* records, size_t size) override {
    guarded([&] {
      // All of them are given, even when writing fails partway: they count as lost then.
      uint64_t given = given_;
      for (size_t offset = 0; offset < size;) {
        RecordHeader header = record_header(records + offset, size - offset);
        given_ += events_of_record(records + offset, header);
        offset += header.size;
      }
      for (size_t offset = 0; offset < size;) {
        const uint8_t* record = records + offset;
        RecordHeader header = record_header(record, size - offset);
        char* out = chunk_.get() + used_;
        switch (static_cast<RecordKind>(header.kind)) {
          case RecordKind::AccessRun:
            out = format_access_run(record, header, out);
            break;
          case RecordKind::StridedRun:
            out = format_strided_run(record, header, out);
            break;
          case RecordKind::Read:
          case RecordKind::Write:
            if (header.width <= 8 && header.size >= sizeof(RecordHeader) + 24) {
              // One line, as format_text() writes it, without making an Event first.
              AccessLineShared shared(header.time_ns, header.map_id,
                                      static_cast<int32_t>(header.pid));
              uint64_t value = get64(record + sizeof(RecordHeader) + 16);
              const bool read = static_cast<RecordKind>(header.kind) == RecordKind::Read;
              out = put_access_line(out, read ? 'R' : 'W', header.width, shared,
                                    get64(record + sizeof(RecordHeader)),
                                    value & value_mask(header.width), header.pc);
              break;
            }
            [[fallthrough]];
          default: {
            Event event;
            const char* why = "";
            if (decode_record(record, header.size, &event, &why) == 0) bad_record(why);
            out = format_event(event, out);
            break;
          }
        }
        used_ = static_cast<size_t>(out - chunk_.get());
        given += events_of_record(record, header);
        record_boundary(given);
        offset += header.size;
      }
    });
  }

  void write_event(const Event& event) override {
    guarded([&] {
      given_ += events_of(event);
      used_ = static_cast<size_t>(format_event(event, chunk_.get() + used_) - chunk_.get());
      record_boundary(given_);
    });
  }

  void end_after_failure(uint64_t lost) override {
    FixedText<64> line;
    line.text("MARK 0.000000 Lost ").decimal(lost).text(" events.\n");
    end_file_after_failure(lost > 0 ? line.view().data() : nullptr, line.size());
  }

 private:
  // Room for the chunk and what one record may add past it: an access run of the most entries,
  // or any other event with the longest text.
  static constexpr size_t kCapacity =
      kChunk + kMaxAccessRunEntries * kMaxAccessLine + kMaxFormattedEvent + kMaxTextLength;

  // Where each record's lines end in the chunk, and how many events had been given by then: a
  // write that fails partway is cut back to the last of them that reached the file.
  struct Boundary {
    size_t end;
    uint64_t given;
  };

  static uint64_t value_mask(unsigned width) {
    return width >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
  }

  char* format_event(const Event& event, char* out) {
    TextSpan span(out, kMaxFormattedEvent + kMaxTextLength);
    format_text(event, span);
    return out + span.size();
  }

  // An access run's lines, one per entry (docs/trace-format.md has the entries' layout).
  static char* format_access_run(const uint8_t* record, const RecordHeader& header, char* out) {
    const size_t entry_size = header.width;
    if ((entry_size != kAccessRunCompactEntrySize && entry_size != kAccessRunWideEntrySize) ||
        header.size < access_run_size(1, entry_size) ||
        header.size > access_run_size(kMaxAccessRunEntries, entry_size) ||
        (header.size - kAccessRunHeaderSize) % entry_size != 0) {
      bad_record("the access run is malformed");
    }
    AccessLineShared shared(header.time_ns, header.map_id, static_cast<int32_t>(header.pid));
    const uint64_t phys_base = get64(record + sizeof(RecordHeader));
    const uint64_t virt_base = get64(record + sizeof(RecordHeader) + 8);
    const uint8_t* entry = record + kAccessRunHeaderSize;
    const uint8_t* end = record + header.size;
    if (entry_size == kAccessRunCompactEntrySize) {
      for (; entry < end; entry += kAccessRunCompactEntrySize) {
        const uint64_t first = get64(entry);
        const unsigned width = 1u << ((first >> kAccessRunLog2WidthShift) & 3);
        // The PC's distance: bits 32-60, sign-extended.
        const auto delta = static_cast<int64_t>(first << (64 - kAccessRunLog2WidthShift)) >>
                           (64 - kAccessRunLog2WidthShift + kAccessRunPcShift);
        out =
            put_access_line(out, (first & kAccessRunWrite) ? 'W' : 'R', width, shared,
                            phys_base + (first & 0xffffffff), get64(entry + 8) & value_mask(width),
                            header.pc + static_cast<uint64_t>(delta));
      }
      return out;
    }
    for (; entry < end; entry += kAccessRunWideEntrySize) {
      const uint64_t first = get64(entry);
      const unsigned width = (first >> kAccessRunWidthShift) & 0x7f;
      if (width == 0 || width > 8) bad_record("an entry of the access run has an impossible width");
      const uint64_t virt = first & kAccessRunAddressMask;
      out = put_access_line(out, (first & kAccessRunWrite) ? 'W' : 'R', width, shared,
                            phys_base + (virt - virt_base), get64(entry + 16) & value_mask(width),
                            get64(entry + 8));
    }
    return out;
  }

  // A strided run's lines, one per entry.
  static char* format_strided_run(const uint8_t* record, const RecordHeader& header, char* out) {
    StridedRunLayout layout;
    const char* why = "";
    if (!read_strided_run(record, header.size, &layout, &why)) bad_record(why);
    AccessLineShared shared(header.time_ns, header.map_id, static_cast<int32_t>(header.pid));
    // Each stream's next physical address, advanced by its stride.
    uint64_t phys[kMaxStridedStreams];
    for (size_t s = 0; s < layout.streams; ++s)
      phys[s] = layout.phys_base + (layout.stream[s].address - layout.virt_base);
    uint64_t values[kMaxStridedStreams];
    for (size_t first = 0, cycle = 0; first < layout.count; first += layout.streams, ++cycle) {
      const size_t streams =
          layout.count - first < layout.streams ? layout.count - first : layout.streams;
      strided_cycle_values(layout, cycle, streams, values);
      for (size_t s = 0; s < streams; ++s) {
        const StridedRunLayout::Stream& stream = layout.stream[s];
        out = put_access_line(out, stream.write ? 'W' : 'R', stream.width, shared, phys[s],
                              values[s], stream.pc);
        phys[s] += stream.stride;
      }
    }
    return out;
  }

  // The chunk holds whole events up to here, `given` of them given so far.
  void record_boundary(uint64_t given) {
    boundaries_.push_back({used_, given});
    if (used_ >= kChunk) write_chunk();
  }

  // The chunk out to the file, or into the compressor.
  void write_chunk() override {
    if (used_ == 0) return;
    if (compressor_) {
      compressor_->compress(chunk_.get(), used_);
    } else {
      uint64_t before = file_.written();
      try {
        file_.write(chunk_.get(), used_);
      } catch (const TraceWriteError&) {
        // The file has the lines of the records that ended within what was written.
        uint64_t reached = file_.written() - before;
        for (auto it = boundaries_.rbegin(); it != boundaries_.rend(); ++it) {
          if (it->end <= reached) {
            in_file_ = it->given;
            cut_point_ = before + it->end;
            break;
          }
        }
        throw;
      }
      if (!boundaries_.empty()) in_file_ = boundaries_.back().given;
      cut_point_ = file_.written();
    }
    used_ = 0;
    boundaries_.clear();
  }

  std::unique_ptr<char[]> chunk_;
  size_t used_ = 0;
  std::vector<Boundary> boundaries_;
};

// Binary records copied as they are, into a chunk or, in large spans, straight to the file.
class BinaryTraceWriter final : public FileTraceWriter {
 public:
  BinaryTraceWriter(int fd, std::string name, TraceCompression compression)
      : FileTraceWriter(fd, std::move(name)) {
    chunk_.reserve(kChunk + kWriteDirectlyFrom);
    BinaryFileHeader header = {};
    std::memcpy(header.magic, kBinaryMagic, sizeof(header.magic));
    header.version = kBinaryVersion;
    header.flags = compression == TraceCompression::Zstd ? kBinaryFlagZstd : 0;
    header.header_size = sizeof(header);
    // zstd compresses the records after the header; gzip, the whole file.
    if (compression != TraceCompression::Gzip) file_.write(&header, sizeof(header));
    compressor_ = make_compressor(compression, file_);
    if (compression == TraceCompression::Gzip) compressor_->compress(&header, sizeof(header));
    all_in_file();
  }
  TraceFormat format() const override { return TraceFormat::Binary; }

  void write_records(const uint8_t* records, size_t size) override {
    guarded([&] {
      for (size_t offset = 0; offset < size;) {
        RecordHeader header = record_header(records + offset, size - offset);
        given_ += events_of_record(records + offset, header);
        offset += header.size;
      }
      if (compressor_) {
        compressor_->compress(records, size);
      } else if (size >= kWriteDirectlyFrom) {
        write_chunk();
        write_whole_records(records, size);  // large spans go straight out, without a copy
      } else {
        chunk_.insert(chunk_.end(), records, records + size);
        if (chunk_.size() >= kChunk) write_chunk();
      }
    });
  }
  void write_event(const Event& event) override {
    uint8_t record[kMaxRecordSize];
    write_records(record, encode_record(event, record));
  }
  void end_after_failure(uint64_t lost) override {
    Event event;
    event.kind = EventKind::Lost;
    event.length = lost;
    uint8_t record[kMaxRecordSize];
    size_t size = encode_record(event, record);
    end_file_after_failure(lost > 0 ? record : nullptr, size);
  }

 private:
  void write_chunk() override {
    if (chunk_.empty()) return;
    write_whole_records(chunk_.data(), chunk_.size());
    chunk_.clear();
  }

  // Records that hold the events given since the file last had all of them, and only those.
  void write_whole_records(const uint8_t* records, size_t size) {
    uint64_t before = file_.written();
    try {
      file_.write(records, size);
    } catch (const TraceWriteError&) {
      // The file has the records that ended within what was written.
      uint64_t reached = file_.written() - before;
      size_t end = 0;
      while (end + sizeof(RecordHeader) <= reached) {
        RecordHeader header;
        std::memcpy(&header, records + end, sizeof(header));
        if (end + header.size > reached) break;
        in_file_ += events_of_record(records + end, header);
        end += header.size;
      }
      cut_point_ = before + end;
      throw;
    }
    all_in_file();
  }

  std::vector<uint8_t> chunk_;
};

// Counts what it is given; writes nothing.
class DiscardingWriter final : public TraceWriter {
 public:
  TraceFormat format() const override { return TraceFormat::Binary; }
  void write_records(const uint8_t* records, size_t size) override {
    for (size_t offset = 0; offset < size;) {
      RecordHeader header = record_header(records + offset, size - offset);
      given_ += events_of_record(records + offset, header);
      offset += header.size;
    }
  }
  void write_event(const Event& event) override { given_ += events_of(event); }
  void flush() override {}
  void close() override {}
  uint64_t events_lost() const override { return given_; }
  void end_after_failure(uint64_t) override {}

 private:
  uint64_t given_ = 0;
};

}  // namespace

std::optional<TraceOutputKind> output_kind_of_name(std::string_view name) {
  auto named = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (named(".bin")) return TraceOutputKind{TraceFormat::Binary, TraceCompression::None};
  if (named(".bin.zst")) return TraceOutputKind{TraceFormat::Binary, TraceCompression::Zstd};
  if (named(".bin.gz")) return TraceOutputKind{TraceFormat::Binary, TraceCompression::Gzip};
  if (named(".zst")) return TraceOutputKind{TraceFormat::Text, TraceCompression::Zstd};
  if (named(".gz")) return TraceOutputKind{TraceFormat::Text, TraceCompression::Gzip};
  if (named(".txt") || named(".log")) {
    return TraceOutputKind{TraceFormat::Text, TraceCompression::None};
  }
  return std::nullopt;
}

bool names_unwritable_compression(std::string_view name) {
  return name.ends_with(".xz");
}

std::unique_ptr<TraceWriter> TraceWriter::create(int fd, std::string name, TraceFormat format,
                                                 TraceCompression compression) {
  if (format == TraceFormat::Text) {
    return std::make_unique<TextTraceWriter>(fd, std::move(name), compression);
  }
  return std::make_unique<BinaryTraceWriter>(fd, std::move(name), compression);
}

std::unique_ptr<TraceWriter> TraceWriter::discarding() {
  return std::make_unique<DiscardingWriter>();
}

}  // namespace mmiotrace::trace
