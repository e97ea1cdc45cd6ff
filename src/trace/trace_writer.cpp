// Writing trace files (see trace_writer.hpp).
#include "trace/trace_writer.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/fixed_text.hpp"
#include "core/syscall.hpp"
#include "trace/binary_format.hpp"
#include "trace/text_format.hpp"

namespace mmiotrace::trace {
namespace {

constexpr size_t kFlushAt = 1 << 20;
constexpr size_t kWriteDirectlyFrom = 64 << 10;  // spans this large skip the buffer

// Buffered output to a descriptor.
class FileOutput {
 public:
  FileOutput(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    buffer_.reserve(2 * kFlushAt);
  }
  ~FileOutput() {
    if (fd_ >= 0) ::close(fd_);
  }
  void append(const void* data, size_t size) {
    if (size >= kWriteDirectlyFrom) {
      flush();
      write_out(data, size);  // large spans go straight out, without a copy
      return;
    }
    const auto* bytes = static_cast<const uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + size);
    if (buffer_.size() >= kFlushAt) flush();
  }
  void flush() {
    if (!buffer_.empty()) write_out(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  void close() {
    flush();
    if (fd_ >= 0 && ::close(fd_) != 0) fail(errno);
    fd_ = -1;
  }

 private:
  void write_out(const void* data, size_t size) {
    if (fd_ < 0) throw TraceWriteError("cannot write to '" + name_ + "': it is closed");
    long status = sys::write_all(fd_, data, size);
    if (status != 0) fail(static_cast<int>(-status));
  }
  [[noreturn]] void fail(int error) {
    throw TraceWriteError("cannot write to '" + name_ + "': " + strerror(error), error);
  }

  int fd_;
  std::string name_;
  std::vector<uint8_t> buffer_;
};

uint64_t get64(const uint8_t* at) {
  uint64_t value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

[[noreturn]] void bad_record(const char* why) {
  throw TraceWriteError(std::string("internal error: bad record: ") + why);
}

// A compressed stream into the file.
class Compressor {
 public:
  explicit Compressor(FileOutput& file) : file_(file), out_(kFlushAt) {}
  virtual ~Compressor() = default;
  virtual void compress(const void* data, size_t size) = 0;
  // Everything given so far is in the file, and decompresses from it.
  virtual void flush() = 0;
  // Ends the stream, and flushes.
  virtual void finish() = 0;

 protected:
  // out_[0, used) holds compressed bytes not written yet.
  void write_out(size_t used) {
    if (used > 0) file_.append(out_.data(), used);
  }
  FileOutput& file_;
  std::vector<uint8_t> out_;
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(FileOutput& file) : Compressor(file), context_(ZSTD_createCCtx()) {
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
  explicit GzipCompressor(FileOutput& file) : Compressor(file) {
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

std::unique_ptr<Compressor> make_compressor(TraceCompression compression, FileOutput& file) {
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

// The kernel's text, formatted straight into a chunk that is written out (or compressed) whole.
// (A thread of its own writing out one chunk while the next fills was tried: on two shared cores
// it was slower, the chunk no longer hot in the cache of the core that copies it to the file.)
class TextTraceWriter final : public TraceWriter {
 public:
  TextTraceWriter(int fd, std::string name, TraceCompression compression)
      : output_(fd, std::move(name)),
        compressor_(make_compressor(compression, output_)),
        chunk_(new char[kCapacity]) {
    std::memcpy(chunk_.get(), kTextVersionLine.data(), kTextVersionLine.size());
    used_ = kTextVersionLine.size();
  }
  TraceFormat format() const override { return TraceFormat::Text; }

  void write_records(const uint8_t* records, size_t size) override {
    for (size_t offset = 0; offset < size;) {
      const uint8_t* record = records + offset;
      RecordHeader header;
      if (size - offset < sizeof(header)) bad_record("the record is cut short");
      std::memcpy(&header, record, sizeof(header));
      if (header.size < sizeof(header) || header.size % 8 != 0) {
        bad_record("the record has an impossible size");
      }
      if (header.size > size - offset) bad_record("the record is cut short");
      char* out = chunk_.get() + used_;
      switch (static_cast<RecordKind>(header.kind)) {
        case RecordKind::AccessRun:
          out = format_access_run(record, header, out);
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
      if (used_ >= kChunk) write_chunk();
      offset += header.size;
    }
  }

  void write_event(const Event& event) override {
    used_ = static_cast<size_t>(format_event(event, chunk_.get() + used_) - chunk_.get());
    if (used_ >= kChunk) write_chunk();
  }
  void flush() override {
    write_chunk();
    if (compressor_) compressor_->flush();
    output_.flush();
  }
  void close() override {
    write_chunk();
    if (compressor_) compressor_->finish();
    output_.close();
  }

 private:
  static constexpr size_t kChunk = 1 << 20;  // text collected before it is written out
  // Room for the chunk and what one record may add past it: an access run of the most entries,
  // or any other event with the longest text.
  static constexpr size_t kCapacity =
      kChunk + kMaxAccessRunEntries * kMaxAccessLine + kMaxFormattedEvent + kMaxTextLength;

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

  // The chunk out to the file, in one write, or into the compressor.
  void write_chunk() {
    if (compressor_) {
      compressor_->compress(chunk_.get(), used_);
    } else {
      output_.append(chunk_.get(), used_);
    }
    used_ = 0;
  }

  FileOutput output_;
  std::unique_ptr<Compressor> compressor_;
  std::unique_ptr<char[]> chunk_;
  size_t used_ = 0;
};

// Binary records copied as they are (the buffered output sends large spans straight out).
class BinaryTraceWriter final : public TraceWriter {
 public:
  BinaryTraceWriter(int fd, std::string name, TraceCompression compression)
      : output_(fd, std::move(name)) {
    BinaryFileHeader header = {};
    std::memcpy(header.magic, kBinaryMagic, sizeof(header.magic));
    header.version = kBinaryVersion;
    header.flags = compression == TraceCompression::Zstd ? kBinaryFlagZstd : 0;
    header.header_size = sizeof(header);
    // zstd compresses the records after the header; gzip, the whole file.
    if (compression != TraceCompression::Gzip) output_.append(&header, sizeof(header));
    compressor_ = make_compressor(compression, output_);
    if (compression == TraceCompression::Gzip) compressor_->compress(&header, sizeof(header));
  }
  TraceFormat format() const override { return TraceFormat::Binary; }
  void write_records(const uint8_t* records, size_t size) override {
    if (compressor_) {
      compressor_->compress(records, size);
    } else {
      output_.append(records, size);
    }
  }
  void write_event(const Event& event) override {
    uint8_t record[kMaxRecordSize];
    write_records(record, encode_record(event, record));
  }
  void flush() override {
    if (compressor_) compressor_->flush();
    output_.flush();
  }
  void close() override {
    if (compressor_) compressor_->finish();
    output_.close();
  }

 private:
  FileOutput output_;
  std::unique_ptr<Compressor> compressor_;
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

}  // namespace mmiotrace::trace
