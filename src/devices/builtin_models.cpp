// The built-in device models' tables: their ARGS parsed and checked, their state made and freed
// (normal context), and their register maps.
#include "devices/builtin_models.hpp"
#include "devices/model_catalog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hex_text.hpp"
#include "devices/nvme.hpp"
#include "devices/regfile.hpp"
#include "devices/uart16550.hpp"

namespace mmiotrace::devices {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

// A bad argument, as create reports it: "MODEL: what is wrong (what is expected)".
struct ArgumentError {
  std::string message;
};

// ARGS as "key=value" pairs, checked against the keys a model takes.
class Arguments {
 public:
  Arguments(const char* model, const char* text, std::initializer_list<const char*> keys)
      : model_(model) {
    std::string_view rest = text ? text : "";
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.empty()) continue;
      size_t equals = item.find('=');
      if (equals == std::string_view::npos || equals == 0) {
        fail("argument '" + std::string(item) + "' is not KEY=VALUE (it takes " + help(keys) + ")");
      }
      std::string key(item.substr(0, equals));
      bool known = false;
      for (const char* k : keys)
        known = known || key == k;
      if (!known) fail("unknown argument '" + key + "' (it takes " + help(keys) + ")");
      if (values_.count(key)) fail(key + "= is given twice");
      values_[key] = std::string(item.substr(equals + 1));
    }
  }

  std::optional<std::string> text(const char* key) const {
    auto found = values_.find(key);
    if (found == values_.end()) return std::nullopt;
    return found->second;
  }

  // A number in decimal or 0x hex, with K, M or G (powers of 1024) when `size_suffix`, within
  // [minimum, maximum]; `range` says that range to the user.
  std::optional<uint64_t> number(const char* key, uint64_t minimum, uint64_t maximum,
                                 const char* range, bool size_suffix = false) const {
    std::optional<std::string> value = text(key);
    if (!value) return std::nullopt;
    std::optional<uint64_t> parsed = parse_number(*value, size_suffix);
    if (!parsed) {
      fail(std::string(key) + "=" + *value + " is not a number (decimal or 0x hex" +
           (size_suffix ? ", with an optional K, M or G" : "") + ")");
    }
    if (*parsed < minimum || *parsed > maximum) {
      fail(std::string(key) + "=" + *value + " is out of range (" + range + ")");
    }
    return parsed;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ArgumentError{std::string(model_) + ": " + what};
  }

 private:
  static std::string help(std::initializer_list<const char*> keys) {
    std::string text;
    for (const char* key : keys)
      text += (text.empty() ? "" : ", ") + std::string(key) + "=";
    return text;
  }

  static std::optional<uint64_t> parse_number(std::string_view text, bool size_suffix) {
    uint64_t multiplier = 1;
    if (size_suffix && !text.empty()) {
      switch (text.back()) {
        case 'K':
        case 'k':
          multiplier = kKiB;
          break;
        case 'M':
        case 'm':
          multiplier = kMiB;
          break;
        case 'G':
        case 'g':
          multiplier = kGiB;
          break;
        default:
          break;
      }
      if (multiplier != 1) text.remove_suffix(1);
    }
    unsigned base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
      base = 16;
      text.remove_prefix(2);
    }
    if (text.empty()) return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
      unsigned digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (base == 16 && c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (base == 16 && c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
      if (value > (UINT64_MAX - digit) / base) return std::nullopt;
      value = value * base + digit;
    }
    if (value > UINT64_MAX / multiplier) return std::nullopt;
    return value * multiplier;
  }

  const char* model_;
  std::map<std::string, std::string> values_;
};

void copy_error(const std::string& message, char* error, size_t error_size) {
  if (error && error_size > 0) snprintf(error, error_size, "%s", printable(message).c_str());
}

// Runs `make`, turning its ArgumentError (or any other exception: none may cross the C ABI)
// into create's NULL result.
template <typename Make>
void* create_reporting(const char* model, char* error, size_t error_size, Make make) {
  try {
    return make();
  } catch (const ArgumentError& failure) {
    copy_error(failure.message, error, error_size);
  } catch (const std::bad_alloc&) {
    copy_error(std::string(model) + ": out of memory", error, error_size);
  } catch (const std::exception& failure) {
    copy_error(std::string(model) + ": " + failure.what(), error, error_size);
  }
  return nullptr;
}

// The whole content of `path`, at most `limit` bytes; `what` names the argument in errors.
std::vector<uint8_t> read_whole_file(const Arguments& arguments, const std::string& what,
                                     const std::string& path, uint64_t limit,
                                     const char* limit_text) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) arguments.fail("cannot open " + what + "='" + path + "': " + strerror(errno));
  std::vector<uint8_t> content;
  uint8_t buffer[65536];
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int saved = errno;
      close(fd);
      arguments.fail("cannot read " + what + "='" + path + "': " + strerror(saved));
    }
    if (got == 0) break;
    if (content.size() + static_cast<size_t>(got) > limit) {
      close(fd);
      arguments.fail(what + "='" + path + "' is larger than " + limit_text);
    }
    content.insert(content.end(), buffer, buffer + got);
  }
  close(fd);
  return content;
}

// regfile ---------------------------------------------------------------------------------

constexpr uint64_t kRegfileMaxSize = kGiB;

void* regfile_create(const char* text, char* error, size_t error_size) {
  return create_reporting("regfile", error, error_size, [&]() -> void* {
    Arguments arguments("regfile", text, {"size", "image"});
    std::optional<uint64_t> size = arguments.number("size", 1, kRegfileMaxSize, "1 to 1G", true);
    std::vector<uint8_t> image;
    if (std::optional<std::string> path = arguments.text("image")) {
      image = read_whole_file(arguments, "image", *path, kRegfileMaxSize, "1G");
      if (size && image.size() > *size) {
        arguments.fail("image='" + *path + "' has " + std::to_string(image.size()) +
                       " bytes, more than size=" + *arguments.text("size"));
      }
      if (!size) size = image.empty() ? 4096 : (image.size() + 4095) / 4096 * 4096;
    }
    auto state = std::make_unique<RegfileState>();
    state->size = size.value_or(4096);
    state->memory = static_cast<uint8_t*>(calloc(state->size, 1));
    if (!state->memory) throw std::bad_alloc();
    if (!image.empty()) {
      uint8_t* copy = new (std::nothrow) uint8_t[image.size()];
      if (!copy) {
        free(state->memory);
        throw std::bad_alloc();
      }
      memcpy(copy, image.data(), image.size());
      state->image = copy;
      state->image_size = image.size();
    }
    regfile_reset(*state);
    return state.release();
  });
}

void regfile_destroy(void* device) {
  auto* state = static_cast<RegfileState*>(device);
  if (!state) return;
  free(state->memory);
  delete[] state->image;
  delete state;
}

// nvme ------------------------------------------------------------------------------------

constexpr uint64_t kNvmeMaxDelayMs = 3'600'000;
constexpr uint64_t kNvmeMaxTimeoutMs = 255 * 500;

uint32_t parse_nvme_version(const Arguments& arguments, const std::string& text) {
  unsigned long parts[3] = {0, 0, 0};
  size_t count = 0;
  size_t start = 0;
  bool ok = true;
  while (ok) {
    size_t dot = text.find('.', start);
    std::string part =
        text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    ok = count < 3 && !part.empty() && part.size() <= 5 &&
         part.find_first_not_of("0123456789") == std::string::npos;
    if (ok) parts[count++] = std::stoul(part);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  ok = ok && count >= 2 && parts[0] <= 0xffff && parts[1] <= 0xff && parts[2] <= 0xff;
  if (!ok) {
    arguments.fail("version=" + text +
                   " is not MAJOR.MINOR[.TERTIARY] (e.g. 1.4.0; major 0 to 65535, minor and "
                   "tertiary 0 to 255)");
  }
  return static_cast<uint32_t>(parts[0] << 16 | parts[1] << 8 | parts[2]);
}

NvmeConfig parse_nvme_config(const Arguments& arguments) {
  NvmeConfig config;
  if (auto delay = arguments.number("delay_ms", 0, kNvmeMaxDelayMs, "0 to 3600000")) {
    config.delay_ns = *delay * 1'000'000;
  }
  if (auto mqes = arguments.number("mqes", 1, 0xffff, "1 to 65535, entries minus one")) {
    config.mqes = static_cast<uint16_t>(*mqes);
  }
  if (auto dstrd = arguments.number("dstrd", 0, 15, "0 to 15")) {
    config.dstrd = static_cast<uint8_t>(*dstrd);
  }
  if (auto timeout = arguments.number("timeout_ms", 0, kNvmeMaxTimeoutMs, "0 to 127500")) {
    config.timeout_units = static_cast<uint8_t>((*timeout + 499) / 500);
  }
  if (auto version = arguments.text("version")) {
    config.version = parse_nvme_version(arguments, *version);
  }
  uint64_t stride = uint64_t{4} << config.dstrd;
  uint64_t minimum_size = (nvme::kDoorbells + 2 * stride + 4095) / 4096 * 4096;
  if (auto size = arguments.number("size", 1, kGiB, "up to 1G", true)) {
    if (*size % 4096 != 0 || *size < minimum_size) {
      arguments.fail("size=" + *arguments.text("size") +
                     " cannot hold the admin queue's doorbells (expected a multiple of 4096, at "
                     "least " +
                     hex_text(minimum_size) + " with dstrd=" + std::to_string(config.dstrd) + ")");
    }
    config.size = *size;
  } else if (config.size < minimum_size) {
    config.size = minimum_size;  // a large dstrd: the default grows to hold the admin queue
  }
  return config;
}

void* nvme_create(const char* text, char* error, size_t error_size) {
  return create_reporting("nvme", error, error_size, [&]() -> void* {
    Arguments arguments("nvme", text,
                        {"delay_ms", "mqes", "dstrd", "timeout_ms", "version", "size"});
    auto state = std::make_unique<NvmeState>();
    state->config = parse_nvme_config(arguments);
    state->doorbell_count = nvme_doorbell_count(state->config);
    state->doorbells = new uint32_t[state->doorbell_count]();
    nvme_reset(*state);
    return state.release();
  });
}

void nvme_destroy(void* device) {
  auto* state = static_cast<NvmeState*>(device);
  if (!state) return;
  delete[] state->doorbells;
  delete state;
}

// uart16550 -------------------------------------------------------------------------------

constexpr uint64_t kUartMaxInput = kMiB;

uint32_t parse_uart_shift(const Arguments& arguments) {
  return static_cast<uint32_t>(arguments.number("shift", 0, 3, "0 to 3").value_or(0));
}

void* uart16550_create(const char* text, char* error, size_t error_size) {
  return create_reporting("uart16550", error, error_size, [&]() -> void* {
    Arguments arguments("uart16550", text, {"shift", "out", "in"});
    auto state = std::make_unique<Uart16550State>();
    state->shift = parse_uart_shift(arguments);
    std::vector<uint8_t> input;
    if (auto path = arguments.text("in")) {
      input = read_whole_file(arguments, "in", *path, kUartMaxInput, "1M");
    }
    state->out_fd = 1;
    std::optional<std::string> out = arguments.text("out");
    if (out && out->empty()) arguments.fail("out= is empty (expected a file, or - for stdout)");
    if (out && *out != "-") {
      int fd = open(out->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) arguments.fail("cannot open out='" + *out + "': " + strerror(errno));
      if (fd <= 2) {  // keep clear of the standard descriptors the program may reopen
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        if (moved < 0) arguments.fail("cannot open out='" + *out + "': " + strerror(errno));
        fd = moved;
      }
      state->out_fd = fd;
    }
    if (!input.empty()) {
      uint8_t* copy = new (std::nothrow) uint8_t[input.size()];
      if (!copy) {
        if (state->out_fd > 2) close(state->out_fd);
        throw std::bad_alloc();
      }
      memcpy(copy, input.data(), input.size());
      state->input = copy;
      state->input_size = input.size();
    }
    uart16550_reset(*state);
    return state.release();
  });
}

void uart16550_destroy(void* device) {
  auto* state = static_cast<Uart16550State*>(device);
  if (!state) return;
  if (state->out_fd > 2) close(state->out_fd);
  delete[] state->input;
  delete state;
}

// Register maps ---------------------------------------------------------------------------

constexpr int kNamedQueues = 64;  // doorbells named in the nvme map: queues 0 to 63
constexpr int kNamedDoorbells = 2 * kNamedQueues;

struct DoorbellNames {
  char names[kNamedDoorbells][12];
};

constexpr DoorbellNames make_doorbell_names() {
  DoorbellNames result{};
  for (int i = 0; i < kNamedDoorbells; ++i) {
    int queue = i / 2;
    char* name = result.names[i];
    int length = 0;
    name[length++] = i % 2 ? 'C' : 'S';
    name[length++] = 'Q';
    if (queue >= 10) name[length++] = static_cast<char>('0' + queue / 10);
    name[length++] = static_cast<char>('0' + queue % 10);
    const char* suffix = i % 2 ? "HDBL" : "TDBL";
    for (int j = 0; j < 4; ++j)
      name[length++] = suffix[j];
    name[length] = '\0';
  }
  return result;
}

constexpr DoorbellNames kDoorbellNames = make_doorbell_names();

constexpr mmiotrace_register kNvmeRegisters[] = {
    {"CAP", nvme::kCap, 8, "Controller Capabilities (read-only)"},
    {"VS", nvme::kVs, 4, "Version (read-only)"},
    {"INTMS", nvme::kIntms, 4, "Interrupt Mask Set: write 1 to set, reads the mask"},
    {"INTMC", nvme::kIntmc, 4, "Interrupt Mask Clear: write 1 to clear, reads the mask"},
    {"CC", nvme::kCc, 4, "Controller Configuration"},
    {"CSTS", nvme::kCsts, 4, "Controller Status"},
    {"NSSR", nvme::kNssr, 4, "NVM Subsystem Reset: write 0x4e564d65 (\"NVMe\")"},
    {"AQA", nvme::kAqa, 4, "Admin Queue Attributes"},
    {"ASQ", nvme::kAsq, 8, "Admin Submission Queue Base Address"},
    {"ACQ", nvme::kAcq, 8, "Admin Completion Queue Base Address"},
};
constexpr size_t kNvmeFixedRegisters = sizeof kNvmeRegisters / sizeof kNvmeRegisters[0];
using NvmeMap = std::array<mmiotrace_register, kNvmeFixedRegisters + kNamedDoorbells + 1>;

constexpr NvmeMap make_nvme_map(unsigned dstrd) {
  NvmeMap map{};
  size_t next = 0;
  for (const mmiotrace_register& fixed : kNvmeRegisters)
    map[next++] = fixed;
  for (int i = 0; i < kNamedDoorbells; ++i) {
    map[next++] = {kDoorbellNames.names[i], nvme::kDoorbells + (uint64_t{4} << dstrd) * i, 4,
                   i % 2 ? "Completion Queue Head Doorbell" : "Submission Queue Tail Doorbell"};
  }
  map[next] = {nullptr, 0, 0, nullptr};
  return map;
}

constexpr NvmeMap kNvmeDefaultMap = make_nvme_map(0);

const mmiotrace_register* nvme_register_map(unsigned dstrd) {
  if (dstrd == 0) return kNvmeDefaultMap.data();
  static const std::array<NvmeMap, 16>* maps = [] {
    auto* all = new std::array<NvmeMap, 16>;
    for (unsigned i = 0; i < all->size(); ++i)
      (*all)[i] = make_nvme_map(i);
    return all;
  }();
  return (*maps)[dstrd & 15].data();
}

constexpr std::array<mmiotrace_register, 9> make_uart_map(unsigned shift) {
  constexpr const char* kNames[8][2] = {
      {"RBR/THR/DLL", "Receiver Buffer / Transmitter Holding / Divisor Latch LSB (DLAB=1)"},
      {"IER/DLM", "Interrupt Enable / Divisor Latch MSB (DLAB=1)"},
      {"IIR/FCR", "Interrupt Identification (read) / FIFO Control (write)"},
      {"LCR", "Line Control (bit 7: DLAB)"},
      {"MCR", "Modem Control (bit 4: loopback)"},
      {"LSR", "Line Status"},
      {"MSR", "Modem Status"},
      {"SCR", "Scratch"},
  };
  std::array<mmiotrace_register, 9> map{};
  for (unsigned r = 0; r < 8; ++r)
    map[r] = {kNames[r][0], uint64_t{r} << shift, 1, kNames[r][1]};
  map[8] = {nullptr, 0, 0, nullptr};
  return map;
}

constexpr std::array<std::array<mmiotrace_register, 9>, 4> kUartMaps = {
    make_uart_map(0), make_uart_map(1), make_uart_map(2), make_uart_map(3)};

}  // namespace

const mmiotrace_device_model kRegfileModel = {
    MMIOTRACE_DEVICE_ABI_VERSION,
    "regfile",
    "plain memory, optionally preloaded from an image",
    "size=BYTES,image=FILE",
    regfile_create,
    regfile_destroy,
    regfile_abi_size,
    regfile_abi_read,
    regfile_abi_write,
    regfile_abi_reset,
    nullptr,
    nullptr,
};

const mmiotrace_device_model kNvmeModel = {
    MMIOTRACE_DEVICE_ABI_VERSION,
    "nvme",
    "an NVMe 1.4 controller's BAR0 registers: enable, reset and shutdown, no commands",
    "delay_ms=N,mqes=N,dstrd=N,timeout_ms=N,version=MAJOR.MINOR[.TERTIARY],size=BYTES",
    nvme_create,
    nvme_destroy,
    nvme_abi_size,
    nvme_abi_read,
    nvme_abi_write,
    nvme_abi_reset,
    nvme_abi_advance,
    kNvmeDefaultMap.data(),
};

const mmiotrace_device_model kUart16550Model = {
    MMIOTRACE_DEVICE_ABI_VERSION,
    "uart16550",
    "a memory-mapped 16550A UART: output to a file or stdout, input from a file",
    "shift=0..3,out=FILE|-,in=FILE",
    uart16550_create,
    uart16550_destroy,
    uart16550_abi_size,
    uart16550_abi_read,
    uart16550_abi_write,
    uart16550_abi_reset,
    nullptr,
    kUartMaps[0].data(),
};

const mmiotrace_register* builtin_register_map(const mmiotrace_device_model& model,
                                               const std::string& arguments) {
  try {
    if (&model == &kNvmeModel) {
      Arguments parsed("nvme", arguments.c_str(),
                       {"delay_ms", "mqes", "dstrd", "timeout_ms", "version", "size"});
      return nvme_register_map(
          static_cast<unsigned>(parsed.number("dstrd", 0, 15, "0 to 15").value_or(0)));
    }
    if (&model == &kUart16550Model) {
      return kUartMaps[parse_uart_shift(
                           Arguments("uart16550", arguments.c_str(), {"shift", "out", "in"}))]
          .data();
    }
  } catch (const ArgumentError&) {
  }
  return model.registers;
}

}  // namespace mmiotrace::devices
