// Reading traces (see trace_reader.hpp).
#include "trace/trace_reader.hpp"

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include "trace/binary_format.hpp"
#include "trace/text_format.hpp"

namespace mmiotrace::trace {

std::string escape_bytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    if (byte == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out += kDigits[byte >> 4];
      out += kDigits[byte & 0xf];
    }
  }
  return out;
}

namespace {

constexpr size_t kMaxLine = 65536;

// Where a ByteSource's bytes come from: the file, or a decompressor reading another ByteSource.
// A problem (a read error, corrupt or cut compressed data) throws TraceReadError with a message
// that names neither the file nor the position: the reader adds them.
class Input {
 public:
  virtual ~Input() = default;
  // Up to `size` bytes into `out`: at least one, or 0 at the end.
  virtual size_t read_some(uint8_t* out, size_t size) = 0;
  // Bytes taken from the file so far, and its size (0 when unknown: a pipe).
  virtual uint64_t file_offset() const = 0;
  virtual uint64_t file_size() const = 0;
};

// Buffered bytes from an Input, with a look at what comes next. A problem of the input ends the
// bytes where it happened; problem() says what it was, once they are consumed.
class ByteSource {
 public:
  ByteSource(std::unique_ptr<Input> input, std::string name)
      : input_(std::move(input)), name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  uint64_t offset() const { return consumed_; }
  uint64_t file_offset() const { return input_->file_offset(); }
  uint64_t file_size() const { return input_->file_size(); }
  // What ended the bytes early, or empty: valid once peek() gave fewer bytes than asked for.
  const std::string& problem() const { return problem_; }

  // Up to `size` bytes without consuming them (fewer only at the end).
  std::string_view peek(size_t size) {
    fill(size);
    return {reinterpret_cast<const char*>(buffer_.data() + start_),
            std::min(size, buffer_.size() - start_)};
  }
  // Consumes and copies up to `size` bytes; returns how many there were.
  size_t read(void* out, size_t size) {
    std::string_view bytes = peek(size);
    std::memcpy(out, bytes.data(), bytes.size());
    skip(bytes.size());
    return bytes.size();
  }
  // Consumes up to `size` bytes (fewer only at the end); returns how many there were.
  size_t skip(size_t size) {
    fill(size);
    size = std::min(size, buffer_.size() - start_);
    start_ += size;
    consumed_ += size;
    return size;
  }

  enum class Line { End, Whole, Unended, TooLong };
  // The next line without its newline: Whole, or Unended when the bytes end without one (End:
  // nothing left); TooLong (the line consumed, its first kMaxLine bytes kept) when it is longer
  // than kMaxLine bytes.
  Line read_line(std::string& line) {
    line.clear();
    bool too_long = false;
    for (;;) {
      std::string_view available = peek(4096);
      if (available.empty()) {
        if (too_long) return Line::TooLong;
        return line.empty() ? Line::End : Line::Unended;
      }
      size_t newline = available.find('\n');
      size_t take = newline == std::string_view::npos ? available.size() : newline;
      line.append(available.substr(0, take));
      skip(newline == std::string_view::npos ? take : take + 1);
      if (line.size() > kMaxLine) {
        line.resize(kMaxLine);
        too_long = true;
      }
      if (newline != std::string_view::npos) return too_long ? Line::TooLong : Line::Whole;
    }
  }

 private:
  void fill(size_t size) {
    if (buffer_.size() - start_ >= size || eof_) return;
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(start_));
    start_ = 0;
    while (buffer_.size() < size && !eof_) {
      size_t old_size = buffer_.size();
      buffer_.resize(old_size + std::max<size_t>(size - old_size, 1 << 16));
      size_t got = 0;
      try {
        got = input_->read_some(buffer_.data() + old_size, buffer_.size() - old_size);
      } catch (const TraceReadError& error) {
        problem_ = error.what();
      }
      buffer_.resize(old_size + got);
      if (got == 0) eof_ = true;
    }
  }

  std::unique_ptr<Input> input_;
  std::string name_;
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
  uint64_t consumed_ = 0;
  bool eof_ = false;
  std::string problem_;
};

// The file itself.
class FileInput final : public Input {
 public:
  explicit FileInput(int fd) : fd_(fd) {}
  ~FileInput() override {
    if (fd_ > 2) ::close(fd_);
  }
  size_t read_some(uint8_t* out, size_t size) override {
    for (;;) {
      ssize_t got = ::read(fd_, out, size);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw TraceReadError(std::string("cannot read: ") + strerror(errno));
      offset_ += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
  }
  uint64_t file_offset() const override { return offset_; }
  uint64_t file_size() const override {
    struct stat status;
    return fstat(fd_, &status) == 0 && S_ISREG(status.st_mode)
               ? static_cast<uint64_t>(status.st_size)
               : 0;
  }

 private:
  int fd_;
  uint64_t offset_ = 0;
};

// What a decompressor shares: the compressed bytes, and its messages.
class DecompressingInput : public Input {
 public:
  DecompressingInput(std::unique_ptr<ByteSource> compressed, const char* method)
      : compressed_(std::move(compressed)), method_(method) {}
  uint64_t file_offset() const override { return compressed_->file_offset(); }
  uint64_t file_size() const override { return compressed_->file_size(); }

 protected:
  // The compressed bytes to give the decompressor next; empty at their end, which throws when
  // reading them failed.
  std::string_view compressed_bytes() {
    std::string_view bytes = compressed_->peek(1 << 16);
    if (bytes.empty() && !compressed_->problem().empty()) {
      throw TraceReadError(compressed_->problem());
    }
    return bytes;
  }
  [[noreturn]] void corrupt(const std::string& detail) const {
    throw TraceReadError("the " + std::string(method_) + " data is corrupt at byte " +
                         std::to_string(compressed_->offset()) + " of the file (" + detail + ")");
  }
  [[noreturn]] void cut_short() const {
    throw TraceReadError("the " + std::string(method_) +
                         " data is cut short: the file ends at byte " +
                         std::to_string(compressed_->offset()) + ", inside a compressed stream");
  }

  std::unique_ptr<ByteSource> compressed_;
  const char* method_;
};

class ZstdInput final : public DecompressingInput {
 public:
  explicit ZstdInput(std::unique_ptr<ByteSource> compressed)
      : DecompressingInput(std::move(compressed), "zstd"), stream_(ZSTD_createDStream()) {
    if (stream_ == nullptr) throw TraceReadError("zstd: cannot make a decompression context");
    ZSTD_initDStream(stream_);
  }
  ~ZstdInput() override { ZSTD_freeDStream(stream_); }
  size_t read_some(uint8_t* out, size_t size) override {
    for (;;) {
      std::string_view input = compressed_bytes();
      if (input.empty()) {
        if (!frame_complete_) cut_short();
        return 0;
      }
      ZSTD_inBuffer in = {input.data(), input.size(), 0};
      ZSTD_outBuffer o = {out, size, 0};
      size_t status = ZSTD_decompressStream(stream_, &o, &in);
      if (ZSTD_isError(status)) corrupt(ZSTD_getErrorName(status));
      compressed_->skip(in.pos);
      frame_complete_ = status == 0;
      if (o.pos > 0) return o.pos;
    }
  }

 private:
  ZSTD_DStream* stream_;
  bool frame_complete_ = true;
};

class GzipInput final : public DecompressingInput {
 public:
  explicit GzipInput(std::unique_ptr<ByteSource> compressed)
      : DecompressingInput(std::move(compressed), "gzip") {
    if (inflateInit2(&stream_, 15 + 16) != Z_OK) {  // 15 + 16: a gzip wrapper
      throw TraceReadError("zlib: cannot make a decompression stream");
    }
  }
  ~GzipInput() override { inflateEnd(&stream_); }
  size_t read_some(uint8_t* out, size_t size) override {
    size = std::min<size_t>(size, 1u << 30);  // zlib's sizes are 32 bits
    for (;;) {
      std::string_view input = compressed_bytes();
      if (input.empty()) {
        if (in_member_) cut_short();
        return 0;
      }
      in_member_ = true;  // concatenated members are read one after the other, as gzip -d does
      stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
      stream_.avail_in = static_cast<uInt>(input.size());
      stream_.next_out = out;
      stream_.avail_out = static_cast<uInt>(size);
      int status = inflate(&stream_, Z_NO_FLUSH);
      compressed_->skip(input.size() - stream_.avail_in);
      if (status == Z_STREAM_END) {
        in_member_ = false;
        inflateReset(&stream_);
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        corrupt(stream_.msg ? stream_.msg : "inflate failed");
      }
      size_t produced = size - stream_.avail_out;
      if (produced > 0) return produced;
    }
  }

 private:
  z_stream stream_ = {};
  bool in_member_ = false;
};

class XzInput final : public DecompressingInput {
 public:
  explicit XzInput(std::unique_ptr<ByteSource> compressed)
      : DecompressingInput(std::move(compressed), "xz") {
    if (lzma_stream_decoder(&stream_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
      throw TraceReadError("liblzma: cannot make a decompression stream");
    }
  }
  ~XzInput() override { lzma_end(&stream_); }
  size_t read_some(uint8_t* out, size_t size) override {
    while (!ended_) {
      std::string_view input = compressed_bytes();
      stream_.next_in = reinterpret_cast<const uint8_t*>(input.data());
      stream_.avail_in = input.size();
      stream_.next_out = out;
      stream_.avail_out = size;
      lzma_ret status = lzma_code(&stream_, input.empty() ? LZMA_FINISH : LZMA_RUN);
      compressed_->skip(input.size() - stream_.avail_in);
      size_t produced = size - stream_.avail_out;
      if (status == LZMA_STREAM_END) {
        ended_ = true;
      } else if (status == LZMA_BUF_ERROR && input.empty()) {
        cut_short();
      } else if (status != LZMA_OK) {
        corrupt(status == LZMA_FORMAT_ERROR    ? "not in the xz format"
                : status == LZMA_OPTIONS_ERROR ? "unsupported options"
                : status == LZMA_MEM_ERROR     ? "out of memory"
                                               : "corrupt data");
      }
      if (produced > 0) return produced;
    }
    return 0;
  }

 private:
  lzma_stream stream_ = LZMA_STREAM_INIT;
  bool ended_ = false;
};

// --- Lenient reading ----------------------------------------------------------------------------

// Why a line or record is not read.
enum class Problem {
  UnknownRecord,  // not a record of the format: a marker's text after a newline, a wrapped line
  OldLspci,       // an LSPCI line of the first mmiotrace logs (PCIDEV lines replaced them)
  Malformed,      // a record with a field missing, malformed or left over
  OutOfRange,     // a value its field cannot hold
  TooLong,        // longer than mmiotrace keeps
  UnknownVersion,
  CutShort,  // the last line or record, or the compressed data, ends before it should
  Count,
};

// "N unknown records", "1 value out of range"...
std::string count_of(Problem problem, uint64_t count) {
  const bool one = count == 1;
  const char* what = "";
  switch (problem) {
    case Problem::UnknownRecord:
      what = one ? "unknown record" : "unknown records";
      break;
    case Problem::OldLspci:
      what = one ? "old LSPCI line" : "old LSPCI lines";
      break;
    case Problem::Malformed:
      what = one ? "malformed record" : "malformed records";
      break;
    case Problem::OutOfRange:
      what = one ? "value out of range" : "values out of range";
      break;
    case Problem::TooLong:
      what = "too long";
      break;
    case Problem::UnknownVersion:
      what = "of an unknown version";
      break;
    case Problem::CutShort:
      what = "cut short";
      break;
    case Problem::Count:
      break;
  }
  return std::to_string(count) + " " + what;
}

// A line or record that a lenient reader skips (a strict one throws TraceReadError instead).
struct SkippedRecord {
  Problem problem;
  std::string message;  // "FILE: line N: what", as the TraceReadError would say
  bool ends_reading;    // nothing after it can be read: the events before it are the trace
};

// What a lenient reader skipped: it warns at the first of each kind, and sums up once at the end.
class SkipTally {
 public:
  SkipTally(std::string name, const ReadOptions& options, const char* unit)
      : name_(std::move(name)), warn_(options.warn), unit_(unit) {
    if (!warn_) {
      warn_ = [](const std::string& message) {
        std::fprintf(stderr, "mmiotrace: warning: %s\n", message.c_str());
      };
    }
  }
  void skip(const SkippedRecord& skipped, const char* what_follows = "skipped") {
    auto index = static_cast<size_t>(skipped.problem);
    if (counts_[index]++ == 0) {
      warn_(skipped.message + " (" + what_follows + "; --strict refuses the trace)");
    }
  }
  // Counts `skipped`; true when reading goes on after it, false when it ended the reading (the
  // events before it are all there is), which is then finish()ed.
  bool go_on_after(const SkippedRecord& skipped) {
    if (!skipped.ends_reading) {
      skip(skipped);
      return true;
    }
    skip(skipped, "the trace is read up to there");
    finish();
    return false;
  }
  // Whether the end was reached (finish()): next() gives nothing more, even when bytes follow a
  // record that ended the reading.
  bool finished() const { return finished_; }
  // Once, at the end of the trace.
  void finish() {
    if (finished_) return;
    finished_ = true;
    uint64_t total = 0;
    std::string kinds;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] == 0) continue;
      total += counts_[i];
      kinds += (kinds.empty() ? "" : ", ") + count_of(static_cast<Problem>(i), counts_[i]);
    }
    if (total == 0) return;
    warn_(name_ + ": " + std::to_string(total) + " " + unit_ + (total == 1 ? "" : "s") +
          " not read (" + kinds + ")");
  }

 private:
  std::string name_;
  std::function<void(const std::string&)> warn_;
  const char* unit_;
  std::array<uint64_t, static_cast<size_t>(Problem::Count)> counts_ = {};
  bool finished_ = false;
};

// --- The kernel's text format -------------------------------------------------------------

class TextTraceReader final : public TraceReader {
 public:
  TextTraceReader(std::unique_ptr<ByteSource> source, const ReadOptions& options)
      : source_(std::move(source)),
        strict_(options.strict),
        skipped_(source_->name(), options, "line") {}
  TraceFormat format() const override { return TraceFormat::Text; }

  bool next(Event& event) override {
    if (skipped_.finished()) return false;
    for (;;) {
      ByteSource::Line got = source_->read_line(line_);
      ++line_number_;
      try {
        if (got == ByteSource::Line::End) {
          if (!source_->problem().empty()) fail_plainly(Problem::CutShort, source_->problem());
          skipped_.finish();
          return false;
        }
        if (got == ByteSource::Line::Unended) {
          // A line the file ends in the middle of, whose last field may be cut: not read.
          fail_plainly(Problem::CutShort,
                       source_->problem().empty()
                           ? "the trace ends in the middle of this line (it has no newline): \"" +
                                 escape_bytes(line_.substr(0, 80)) + "\""
                           : source_->problem());
        }
        if (got == ByteSource::Line::TooLong) {
          fail(Problem::TooLong, "a line longer than " + std::to_string(kMaxLine) + " bytes");
        }
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (line_.empty()) continue;
        position_ = 0;
        if (line_[0] == '#') {  // a comment: ftrace's header of the kernel's `trace` file
          if (line_.size() > kMaxTextLength) too_long("comment", line_.size());
          event = Event{};
          event.kind = EventKind::Comment;
          event.text = line_.c_str();
          event.text_length = static_cast<uint32_t>(line_.size());
          return true;
        }
        if (parse(event)) {
          started_ = true;
          return true;
        }
      } catch (const SkippedRecord& skipped) {
        if (skipped_.go_on_after(skipped)) continue;
        return false;
      }
    }
  }
  std::string position() const override { return "line " + std::to_string(line_number_); }
  uint64_t bytes_read() const override { return source_->file_offset(); }
  uint64_t file_size() const override { return source_->file_size(); }

 private:
  // The line cannot be read: the trace is refused (strict) or the line skipped.
  [[noreturn]] void fail_plainly(Problem problem, const std::string& what) const {
    std::string message = source_->name() + ": line " + std::to_string(line_number_) + ": " + what;
    if (strict_) throw TraceReadError(message);
    throw SkippedRecord{problem, std::move(message), problem == Problem::CutShort};
  }
  // A malformed line: what is wrong with it, and its start (escaped: it may hold any bytes).
  [[noreturn]] void fail(Problem problem, const std::string& what) const {
    fail_plainly(problem, what + " in \"" + escape_bytes(line_.substr(0, 80)) + "\"");
  }
  [[noreturn]] void fail(const std::string& what) const { fail(Problem::Malformed, what); }
  // A text longer than the binary format, and so every writer, keeps: never cut silently.
  [[noreturn]] void too_long(const char* what, size_t size) const {
    fail(Problem::TooLong, std::string("a ") + what + " of " + std::to_string(size) +
                               " bytes, longer than the " + std::to_string(kMaxTextLength) +
                               " mmiotrace keeps");
  }

  std::string_view token(const char* what) {
    while (position_ < line_.size() && line_[position_] == ' ')
      ++position_;
    size_t end = line_.find(' ', position_);
    if (end == std::string::npos) end = line_.size();
    if (end == position_) fail(std::string("missing ") + what);
    std::string_view word(line_.data() + position_, end - position_);
    position_ = end;
    return word;
  }
  uint64_t number(std::string_view word, int base, const char* what, bool prefixed = true) {
    if (base == 16 && prefixed) {
      if (word.size() < 3 || word[0] != '0' || word[1] != 'x') fail(std::string("bad ") + what);
      word.remove_prefix(2);
    }
    uint64_t value = 0;
    if (word.empty()) fail(std::string("bad ") + what);
    for (char c : word) {
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : 99;
      if (digit >= base) fail(std::string("bad ") + what);
      if (value > (UINT64_MAX - static_cast<uint64_t>(digit)) / static_cast<uint64_t>(base)) {
        fail(Problem::OutOfRange, std::string(what) + " out of range");
      }
      value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
    }
    return value;
  }
  uint64_t hex(const char* what) { return number(token(what), 16, what); }
  int64_t signed_decimal(const char* what) {
    std::string_view word = token(what);
    bool negative = !word.empty() && word[0] == '-';
    if (negative) word.remove_prefix(1);
    uint64_t magnitude = number(word, 10, what);
    if (magnitude > (negative ? uint64_t{1} << 31 : (uint64_t{1} << 31) - 1)) {
      fail(Problem::OutOfRange, std::string(what) + " out of range");
    }
    int64_t value = static_cast<int64_t>(magnitude);
    return negative ? -value : value;
  }
  // A map id: positive, as the kernel and mmiotrace number mappings; `unknown_allowed`: or -1,
  // the kernel's id for an access or an unmap of a mapping it did not see made.
  int32_t map_id(bool unknown_allowed) {
    int64_t id = signed_decimal("map id");
    if (id < 1 && !(unknown_allowed && id == kUnknownMapId)) {
      fail(Problem::OutOfRange, "map id out of range (" + std::to_string(id) + ")");
    }
    return static_cast<int32_t>(id);
  }
  uint64_t timestamp() {
    std::string_view word = token("time");
    size_t dot = word.find('.');
    if (dot == std::string_view::npos || word.size() - dot - 1 != 6) fail("bad time");
    uint64_t seconds = number(word.substr(0, dot), 10, "time");
    uint64_t fraction_ns = number(word.substr(dot + 1), 10, "time") * 1000ull;
    if (seconds > UINT64_MAX / 1000000000ull ||
        seconds * 1000000000ull > UINT64_MAX - fraction_ns) {
      fail(Problem::OutOfRange, "time out of range");
    }
    return seconds * 1000000000ull + fraction_ns;
  }
  void end_of_line() {
    while (position_ < line_.size() && line_[position_] == ' ')
      ++position_;
    if (position_ != line_.size()) fail("unexpected text at the end");
  }

  bool parse(Event& event) {
    event = Event{};
    std::string_view kind = token("record");
    if (kind == "VERSION") {
      std::string_view version = token("version");
      if (version != "20070824") {
        fail(Problem::UnknownVersion, "a text trace of version " + escape_bytes(version) +
                                          ", but this reader knows version 20070824");
      }
      end_of_line();
      // The first opens the trace; a later one, another capture appended to the file.
      if (!started_) {
        started_ = true;
        return false;
      }
      event.kind = EventKind::Segment;
      return true;
    }
    if (kind == "PCIDEV") {
      if (line_.size() > kMaxTextLength) too_long("PCIDEV line", line_.size());
      event.kind = EventKind::PciDevice;
      event.text = line_.c_str();
      event.text_length = static_cast<uint32_t>(line_.size());
      return true;
    }
    if (kind == "R" || kind == "W") {
      event.kind = kind == "R" ? EventKind::Read : EventKind::Write;
      int64_t width = signed_decimal("width");
      if (width != 1 && width != 2 && width != 4 && width != 8) fail("bad width");
      event.width = static_cast<uint8_t>(width);
      event.time_ns = timestamp();
      event.map_id = map_id(true);
      event.phys = hex("physical address");
      uint64_t value = hex("value");
      if (width < 8 && (value >> (8 * width)) != 0) {
        fail(Problem::OutOfRange, "value out of range for " + std::to_string(width) + " bytes");
      }
      std::memcpy(event.value, &value, 8);
      event.pc = hex("pc");
      event.pid = static_cast<int32_t>(signed_decimal("pid"));
    } else if (kind == "MAP") {
      event.kind = EventKind::Map;
      event.time_ns = timestamp();
      event.map_id = map_id(false);
      event.phys = hex("physical address");
      event.virt = hex("virtual address");
      event.length = hex("length");
      if (event.length == 0 || event.phys + event.length - 1 < event.phys ||
          event.virt + event.length - 1 < event.virt) {
        fail(Problem::OutOfRange, "length out of range (the mapping would wrap around 2^64)");
      }
      event.pc = hex("pc");
      event.pid = static_cast<int32_t>(signed_decimal("pid"));
    } else if (kind == "UNMAP") {
      event.kind = EventKind::Unmap;
      event.time_ns = timestamp();
      event.map_id = map_id(true);
      event.pc = hex("pc");
      event.pid = static_cast<int32_t>(signed_decimal("pid"));
    } else if (kind == "UNKNOWN") {
      event.kind = EventKind::Unknown;
      event.time_ns = timestamp();
      event.map_id = map_id(true);
      event.phys = hex("physical address");
      std::string_view bytes = token("instruction bytes");
      if (bytes.size() != 8 || bytes[2] != ',' || bytes[5] != ',') fail("bad instruction bytes");
      for (int i = 0; i < 3; ++i) {
        event.insn[i] = static_cast<uint8_t>(number(bytes.substr(3 * i, 2), 16, "byte", false));
      }
      event.insn_length = 3;
      event.pc = hex("pc");
      event.pid = static_cast<int32_t>(signed_decimal("pid"));
    } else if (kind == "MARK") {
      uint64_t time = timestamp();
      if (position_ < line_.size()) ++position_;  // the one space before the text
      std::string_view text(line_.data() + position_, line_.size() - position_);
      constexpr std::string_view kLost = "Lost ";
      if (time == 0 && text.substr(0, kLost.size()) == kLost && text.size() > kLost.size() + 8 &&
          text.substr(text.size() - 8) == " events.") {
        event.kind = EventKind::Lost;
        event.length =
            number(text.substr(kLost.size(), text.size() - kLost.size() - 8), 10, "count");
        return true;
      }
      event.time_ns = time;
      if (parse_ioctl(text, event)) return true;
      if (text.size() > kMaxTextLength) too_long("marker text", text.size());
      event.kind = EventKind::Mark;
      event.text = text.data();
      event.text_length = static_cast<uint32_t>(text.size());
      return true;
    } else if (kind == "LSPCI") {
      fail(Problem::OldLspci, "an LSPCI line of an old kernel (PCIDEV lines replaced them)");
    } else {
      fail(Problem::UnknownRecord, "unknown record \"" + escape_bytes(kind) + "\"");
    }
    end_of_line();
    return true;
  }

  // "ioctl fd F request 0xR arg 0xA size S result R before HEX after HEX", as text_format.cpp
  // writes an Ioctl event; anything else stays a marker.
  bool parse_ioctl(std::string_view text, Event& event) {
    std::istringstream in{std::string(text)};
    std::string word[8], before, after;
    long long fd = 0, result = 0;
    unsigned long long request = 0, argument = 0, size = 0;
    if (!(in >> word[0] >> word[1] >> fd >> word[2] >> std::hex >> request >> word[3] >> argument >>
          std::dec >> word[4] >> size >> word[5] >> result >> word[6] >> before >> word[7] >>
          after) ||
        word[0] != "ioctl" || word[1] != "fd" || word[2] != "request" || word[3] != "arg" ||
        word[4] != "size" || word[5] != "result" || word[6] != "before" || word[7] != "after" ||
        !(in >> std::ws).eof()) {
      return false;
    }
    auto bytes = [](const std::string& hex, std::vector<uint8_t>& out) {
      out.clear();
      if (hex == "-") return true;
      if (hex.size() % 2 != 0 || hex.size() / 2 > kMaxIoctlLogged) return false;
      for (size_t i = 0; i < hex.size(); i += 2) {
        char* end = nullptr;
        std::string pair = hex.substr(i, 2);
        unsigned long value = strtoul(pair.c_str(), &end, 16);
        if (*end != '\0') return false;
        out.push_back(static_cast<uint8_t>(value));
      }
      return true;
    };
    if (!bytes(before, ioctl_before_) || !bytes(after, ioctl_after_) ||
        (!ioctl_before_.empty() && !ioctl_after_.empty() &&
         ioctl_before_.size() != ioctl_after_.size())) {
      return false;
    }
    event.kind = EventKind::Ioctl;
    event.fd = static_cast<int32_t>(fd);
    event.request = request;
    event.virt = argument;
    event.argument_size = static_cast<uint32_t>(size);
    event.result = result;
    event.logged_size = static_cast<uint32_t>(std::max(ioctl_before_.size(), ioctl_after_.size()));
    event.before = ioctl_before_.empty() ? nullptr : ioctl_before_.data();
    event.after = ioctl_after_.empty() ? nullptr : ioctl_after_.data();
    return true;
  }

  std::unique_ptr<ByteSource> source_;
  bool strict_;
  SkipTally skipped_;
  bool started_ = false;  // a VERSION line or a record was read: a VERSION now is a new segment
  std::string line_;
  uint64_t line_number_ = 0;
  size_t position_ = 0;
  std::vector<uint8_t> ioctl_before_;
  std::vector<uint8_t> ioctl_after_;
};

// --- The binary format ------------------------------------------------------------------------

class BinaryTraceReader final : public TraceReader {
 public:
  // `compressed`: `source` is what decompresses from the file.
  BinaryTraceReader(std::unique_ptr<ByteSource> source, bool compressed, const ReadOptions& options)
      : source_(std::move(source)),
        file_compressed_(compressed),
        strict_(options.strict),
        skipped_(source_->name(), options, "record") {
    BinaryFileHeader header;
    if (source_->read(&header, sizeof(header)) != sizeof(header)) {
      fail_at(0, source_->problem().empty() ? "the file header is cut short" : source_->problem());
    }
    if (header.version > kBinaryVersion) {
      fail_at(8, "written by a newer mmiotrace (binary format version " +
                     std::to_string(header.version) + "; this one reads version " +
                     std::to_string(kBinaryVersion) + ")");
    }
    if (header.version == 0 || header.header_size < sizeof(header) ||
        (header.flags & ~kBinaryFlagZstd) != 0) {
      fail_at(8, "the file header is corrupt");
    }
    // A later version's header may be longer: its extra bytes are skipped, up to a sane size.
    uint64_t extra = header.header_size - sizeof(header);
    if (header.header_size > kMaxHeaderSize || source_->skip(extra) != extra) {
      fail_at(16, "the file header is corrupt (its size is " + std::to_string(header.header_size) +
                      " bytes)");
    }
    if (header.flags & kBinaryFlagZstd) {  // the records after the header are a zstd stream
      std::string name = source_->name();
      source_ = std::make_unique<ByteSource>(std::make_unique<ZstdInput>(std::move(source_)),
                                             std::move(name));
      records_compressed_ = true;
    }
  }
  TraceFormat format() const override { return TraceFormat::Binary; }

  bool next(Event& event) override {
    if (skipped_.finished()) return false;
    for (;;) {
      try {
        if (next_record(event)) return true;
        skipped_.finish();
        return false;
      } catch (const SkippedRecord& skipped) {
        if (skipped_.go_on_after(skipped)) continue;
        return false;
      }
    }
  }
  uint64_t bytes_read() const override { return source_->file_offset(); }
  uint64_t file_size() const override { return source_->file_size(); }
  std::string position() const override {
    if (compressed()) return "record offset " + std::to_string(last_record_offset_);
    return "offset " + std::to_string(sizeof(BinaryFileHeader) + last_record_offset_);
  }

 private:
  bool compressed() const { return file_compressed_ || records_compressed_; }

  // next(), where a record that cannot be read throws TraceReadError (strict) or SkippedRecord.
  bool next_record(Event& event) {
    const char* why = "";
    if (run_next_ < run_events_) {  // the rest of an access run, one event at a time
      if (decode_record(record_, run_size_, &event, &why, run_next_++) == 0) {
        run_events_ = 0;  // the rest of the run is skipped with it
        fail_record(last_record_offset_, Problem::Malformed, why);
      }
      check_range(event, last_record_offset_);
      return true;
    }
    uint64_t offset = records_offset_;
    size_t got = read_records(record_, sizeof(RecordHeader));
    if (got == 0) {
      if (!source_->problem().empty()) fail_record(offset, Problem::CutShort, source_->problem());
      return false;
    }
    if (got < sizeof(RecordHeader)) cut_short(offset);
    if (std::memcmp(record_, kBinaryMagic, sizeof(kBinaryMagic)) == 0) {
      return next_capture(event, offset);
    }
    RecordHeader header;
    std::memcpy(&header, record_, sizeof(header));
    if (header.size < sizeof(RecordHeader) || header.size % 8 != 0 ||
        header.size > kMaxRecordSize) {
      // Where the next record starts is unknown: nothing after this one can be read.
      fail_record(offset, Problem::Malformed,
                  "a record has an impossible size (" + std::to_string(header.size) + ")", true);
    }
    size_t rest = header.size - sizeof(RecordHeader);
    if (read_records(record_ + sizeof(RecordHeader), rest) != rest) cut_short(offset);
    last_record_offset_ = offset;
    run_size_ = header.size;
    run_events_ = 0;
    if (decode_record(record_, header.size, &event, &why) == 0) {
      fail_record(offset, Problem::Malformed, why);
    }
    run_events_ = record_event_count(record_);
    run_next_ = 1;
    check_range(event, offset);
    return true;
  }

  // A file header where a record would start: another capture appended to the file (`cat a.bin
  // b.bin`), whose records follow it. Its first 32 bytes are in record_.
  bool next_capture(Event& event, uint64_t offset) {
    BinaryFileHeader header;
    std::memcpy(&header, record_, sizeof(RecordHeader));
    const size_t rest = sizeof(header) - sizeof(RecordHeader);
    if (read_records(reinterpret_cast<uint8_t*>(&header) + sizeof(RecordHeader), rest) != rest) {
      cut_short(offset);
    }
    if (header.version == 0 || header.version > kBinaryVersion || header.flags != 0 ||
        header.header_size < sizeof(header) || header.header_size > kMaxHeaderSize) {
      // Compressed records of a later capture, or a newer one: its records cannot be told apart.
      fail_record(offset, Problem::UnknownVersion,
                  "another capture, appended to the file, whose records this reader cannot read "
                  "(version " +
                      std::to_string(header.version) + ", flags " + std::to_string(header.flags) +
                      ")",
                  true);
    }
    const size_t extra = header.header_size - sizeof(header);
    if (source_->skip(extra) != extra) cut_short(offset);
    records_offset_ += extra;
    last_record_offset_ = offset;
    run_events_ = 0;
    event = Event{};
    event.kind = EventKind::Segment;
    return true;
  }

  // What the text reader refuses as out of range (its map_id() and the MAP length), refused
  // here too; the writers' decode_record() trusts the rings and checks none of it.
  void check_range(const Event& event, uint64_t offset) const {
    const bool map = event.kind == EventKind::Map;
    const bool has_map_id = map || event.kind == EventKind::Unmap ||
                            event.kind == EventKind::Read || event.kind == EventKind::Write ||
                            event.kind == EventKind::Unknown;
    if (has_map_id && event.map_id < 1 && (map || event.map_id != kUnknownMapId)) {
      fail_record(offset, Problem::OutOfRange,
                  "the map id is out of range (" + std::to_string(event.map_id) + ")");
    }
    if (map && (event.length == 0 || event.phys + event.length - 1 < event.phys ||
                event.virt + event.length - 1 < event.virt)) {
      fail_record(offset, Problem::OutOfRange, "the mapping's length is out of range");
    }
  }

  // `offset` in the file, or in what decompresses from it.
  [[noreturn]] void fail_at(uint64_t offset, const std::string& what) const {
    throw TraceReadError(source_->name() + ": offset " + std::to_string(offset) +
                         (file_compressed_ ? " of the decompressed file: " : ": ") + what);
  }
  // The record at `records_offset` from the start of the records cannot be read: the trace is
  // refused (strict), or the record skipped (`ends_reading`: and the rest of the file).
  [[noreturn]] void fail_record(uint64_t records_offset, Problem problem, const std::string& what,
                                bool ends_reading = false) const {
    std::string message =
        records_compressed_ ? source_->name() + ": offset " + std::to_string(records_offset) +
                                  " of the decompressed records: " + what
                            : source_->name() + ": offset " +
                                  std::to_string(sizeof(BinaryFileHeader) + records_offset) +
                                  (file_compressed_ ? " of the decompressed file: " : ": ") + what;
    if (strict_) throw TraceReadError(message);
    throw SkippedRecord{problem, std::move(message), ends_reading || problem == Problem::CutShort};
  }
  [[noreturn]] void cut_short(uint64_t records_offset) const {
    fail_record(records_offset, Problem::CutShort,
                source_->problem().empty() ? "the last record is cut short" : source_->problem());
  }

  // The next `size` bytes of records; fewer only at the end.
  size_t read_records(uint8_t* out, size_t size) {
    size_t got = source_->read(out, size);
    records_offset_ += got;
    return got;
  }

  std::unique_ptr<ByteSource> source_;
  bool file_compressed_;  // the whole file is compressed (zstd, gzip or xz)
  bool strict_;
  SkipTally skipped_;
  bool records_compressed_ = false;  // the records after the header are (kBinaryFlagZstd)
  uint64_t records_offset_ = 0;
  uint64_t last_record_offset_ = 0;  // of the record next() returned last
  // The record in record_ (run_size_ bytes) holds run_events_ events; next() returns the one at
  // run_next_ before it reads another record.
  size_t run_size_ = 0;
  size_t run_events_ = 0;
  size_t run_next_ = 0;
  alignas(8) uint8_t record_[kMaxRecordSize];
};

// The bytes of the trace in `file`: when it is compressed (told by its first bytes, whatever its
// name), those that decompress from it.
std::unique_ptr<ByteSource> trace_bytes(std::unique_ptr<ByteSource> file, bool* compressed) {
  std::string_view start = file->peek(6);
  std::string name = file->name();
  *compressed = true;
  if (start.starts_with(std::string_view("\x28\xb5\x2f\xfd", 4))) {
    return std::make_unique<ByteSource>(std::make_unique<ZstdInput>(std::move(file)), name);
  }
  if (start.starts_with("\x1f\x8b")) {
    return std::make_unique<ByteSource>(std::make_unique<GzipInput>(std::move(file)), name);
  }
  if (start == std::string_view("\xfd\x37zXZ\0", 6)) {  // xz: fd "7zXZ" 00
    return std::make_unique<ByteSource>(std::make_unique<XzInput>(std::move(file)), name);
  }
  *compressed = false;
  return file;
}

}  // namespace

std::unique_ptr<TraceReader> TraceReader::open(const std::string& path,
                                               const ReadOptions& options) {
  int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw TraceReadError(path + ": cannot open: " + strerror(errno));
  std::string name = path == "-" ? "standard input" : path;
  bool compressed = false;
  std::unique_ptr<ByteSource> source =
      trace_bytes(std::make_unique<ByteSource>(std::make_unique<FileInput>(fd), name), &compressed);
  if (source->peek(sizeof(kBinaryMagic)) == std::string_view(kBinaryMagic, sizeof(kBinaryMagic))) {
    return std::make_unique<BinaryTraceReader>(std::move(source), compressed, options);
  }
  if (source->peek(1).empty() && source->problem().empty()) {
    throw TraceReadError(name +
                         ": the file is empty: a trace cut short before its first line, "
                         "or not a trace");
  }
  return std::make_unique<TextTraceReader>(std::move(source), options);
}

}  // namespace mmiotrace::trace
