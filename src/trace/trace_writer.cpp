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

class TextTraceWriter final : public TraceWriter {
 public:
  TextTraceWriter(int fd, std::string name) : output_(fd, std::move(name)) {
    output_.append(kTextVersionLine.data(), kTextVersionLine.size());
  }
  TraceFormat format() const override { return TraceFormat::Text; }
  void write_records(const uint8_t* records, size_t size) override {
    size_t offset = 0;
    while (offset < size) {
      const char* why = nullptr;
      size_t used = decode_events(records + offset, size - offset, &why,
                                  [this](const Event& event) { write_event(event); });
      if (used == 0) throw TraceWriteError(std::string("internal error: bad record: ") + why);
      offset += used;
    }
  }
  void write_event(const Event& event) override {
    FixedText<kMaxFormattedEvent + kMaxTextLength> line;
    format_text(event, line);
    output_.append(line.view().data(), line.view().size());
  }
  void flush() override { output_.flush(); }
  void close() override { output_.close(); }

 private:
  FileOutput output_;
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
