// Writing trace files (see trace_writer.hpp).
#include "trace/trace_writer.hpp"

#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
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

// The kernel's text, formatted straight into a chunk that is written out whole.
// (A thread of its own writing out one chunk while the next fills was tried: on two shared cores
// it was slower, the chunk no longer hot in the cache of the core that copies it to the file.)
class TextTraceWriter final : public TraceWriter {
 public:
  TextTraceWriter(int fd, std::string name)
      : output_(fd, std::move(name)), chunk_(new char[kCapacity]) {
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
    output_.flush();
  }
  void close() override {
    write_chunk();
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

  // The chunk out to the file, in one write.
  void write_chunk() {
    output_.append(chunk_.get(), used_);
    used_ = 0;
  }

  FileOutput output_;
  std::unique_ptr<char[]> chunk_;
  size_t used_ = 0;
};

class BinaryTraceWriter final : public TraceWriter {
 public:
  BinaryTraceWriter(int fd, std::string name, bool compress)
      : output_(fd, std::move(name)), compress_(compress) {
    BinaryFileHeader header = {};
    std::memcpy(header.magic, kBinaryMagic, sizeof(header.magic));
    header.version = kBinaryVersion;
    header.flags = compress ? kBinaryFlagZstd : 0;
    header.header_size = sizeof(header);
    output_.append(&header, sizeof(header));
    if (compress_) {
      context_ = ZSTD_createCCtx();
      ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, 1);
      compressed_.resize(ZSTD_CStreamOutSize());
    }
  }
  ~BinaryTraceWriter() override {
    if (context_) ZSTD_freeCCtx(context_);
  }
  TraceFormat format() const override { return TraceFormat::Binary; }
  void write_records(const uint8_t* records, size_t size) override {
    if (!compress_) {
      output_.append(records, size);
      return;
    }
    ZSTD_inBuffer input = {records, size, 0};
    while (input.pos < input.size)
      compress_step(&input, ZSTD_e_continue);
  }
  void write_event(const Event& event) override {
    uint8_t record[kMaxRecordSize];
    write_records(record, encode_record(event, record));
  }
  void flush() override {
    if (compress_) {
      ZSTD_inBuffer input = {nullptr, 0, 0};
      while (compress_step(&input, ZSTD_e_flush) != 0) {
      }
    }
    output_.flush();
  }
  void close() override {
    if (compress_) {
      ZSTD_inBuffer input = {nullptr, 0, 0};
      while (compress_step(&input, ZSTD_e_end) != 0) {
      }
    }
    output_.close();
  }

 private:
  size_t compress_step(ZSTD_inBuffer* input, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out = {compressed_.data(), compressed_.size(), 0};
    size_t remaining = ZSTD_compressStream2(context_, &out, input, mode);
    if (ZSTD_isError(remaining)) {
      throw TraceWriteError(std::string("zstd: ") + ZSTD_getErrorName(remaining));
    }
    output_.append(compressed_.data(), out.pos);
    return remaining;
  }

  FileOutput output_;
  bool compress_;
  ZSTD_CCtx* context_ = nullptr;
  std::vector<uint8_t> compressed_;
};

}  // namespace

std::unique_ptr<TraceWriter> TraceWriter::create(int fd, std::string name, TraceFormat format,
                                                 bool compress) {
  if (format == TraceFormat::Text) return std::make_unique<TextTraceWriter>(fd, std::move(name));
  return std::make_unique<BinaryTraceWriter>(fd, std::move(name), compress);
}

}  // namespace mmiotrace::trace
