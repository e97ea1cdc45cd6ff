// The LD_PRELOAD shim that `mmiotrace record` injects into the traced program: it reads its
// configuration from the environment, then traces every mapping of a file that the trace globs
// match, from mmap() to munmap(). Runs in the traced program, in normal context (the probe
// handlers it installs are in trace/recorder_handlers.cpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "core/diagnostics.hpp"
#include "core/syscall.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.h"
#include "preload/environment.hpp"
#include "preload/physical_address.hpp"
#include "preload/trace_filter.hpp"
#include "trace/recorder.hpp"
#include "trace/ring_sink.hpp"
#include "trace/session.hpp"

namespace mmiotrace::preload {
namespace {

// A mapping the program made of a traced file; its pieces share it when it is partly unmapped.
struct TracedFile {
  AddressRange alias;  // the tracer's second mapping of the same file pages, or empty
  ~TracedFile() {
    if (!alias.empty()) sys::munmap(alias.begin, alias.size());
  }
};

struct ShimMapping {
  trace::TracedMapping* traced = nullptr;
  int protection = 0;
  std::shared_ptr<TracedFile> file;  // the last piece to go unmaps the alias
};

struct Shim {
  Shim(trace::TraceBuffer buffer, std::vector<std::string> globs)
      : session(buffer), filter(std::move(globs)) {}
  trace::Session session;
  trace::Recorder& recorder = session.recorder;
  TraceFilter filter;
  std::mutex mutex;                            // guards `mappings`
  std::map<uintptr_t, ShimMapping> mappings;  // by start address
};

// Set once by the constructor, never destroyed: the program may map and unmap during exit.
Shim* g_shim = nullptr;

// Set while this thread runs shim code that may itself call mmap (through libc).
constinit thread_local bool t_inside_shim __attribute__((tls_model("initial-exec"))) = false;

class ShimScope {
 public:
  ShimScope() : entered_(!t_inside_shim && g_shim != nullptr) {
    if (entered_) t_inside_shim = true;
  }
  ~ShimScope() {
    if (entered_) t_inside_shim = false;
  }
  ShimScope(const ShimScope&) = delete;
  ShimScope& operator=(const ShimScope&) = delete;
  explicit operator bool() const { return entered_; }

 private:
  bool entered_;
};

std::vector<std::string> split_lines(const char* text) {
  std::vector<std::string> lines;
  std::string current;
  for (const char* c = text; *c; ++c) {
    if (*c == '\n') {
      if (!current.empty()) lines.push_back(current);
      current.clear();
    } else {
      current += *c;
    }
  }
  if (!current.empty()) lines.push_back(current);
  return lines;
}

// Notices of the engine go into the trace as markers.
void record_notice(const char* text, size_t length, void*) {
  if (g_shim != nullptr) g_shim->recorder.mark(text, length);
}

// The descriptor named by environment variable `name`, or -1 (with a diagnostic when the
// variable is set but names no open descriptor).
int inherited_fd(const char* name) {
  const char* text = getenv(name);
  if (text == nullptr) return -1;
  char* end = nullptr;
  long fd = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || fd < 0 || fd > INT32_MAX ||
      fcntl(static_cast<int>(fd), F_GETFD) < 0) {
    Diagnostic line;
    line.text(name).text("=").text(text).text(
        " is not an open file descriptor; this program is not traced (run it with `mmiotrace "
        "record`)");
    line.emit();
    return -1;
  }
  return static_cast<int>(fd);
}

// The trace buffer `mmiotrace record` shares with its traced processes.
trace::TraceBuffer map_trace_buffer(int fd) {
  struct stat status;
  if (fstat(fd, &status) != 0 || status.st_size <= 0) return {};
  long memory = sys::mmap(0, static_cast<size_t>(status.st_size), PROT_READ | PROT_WRITE,
                          MAP_SHARED, fd, 0);
  if (memory < 0 && memory > -4096) return {};
  // Not part of the program: keep it out of its core dumps.
  madvise(reinterpret_cast<void*>(memory), static_cast<size_t>(status.st_size), MADV_DONTDUMP);
  trace::TraceBuffer buffer =
      trace::TraceBuffer::attach(reinterpret_cast<void*>(memory), static_cast<size_t>(status.st_size));
  if (!buffer.valid()) sys::munmap(static_cast<uintptr_t>(memory), static_cast<size_t>(status.st_size));
  return buffer;
}

__attribute__((constructor)) void start_shim() {
  int buffer_fd = inherited_fd(kBufferFdVariable);
  if (buffer_fd < 0) return;
  trace::TraceBuffer buffer = map_trace_buffer(buffer_fd);
  if (!buffer.valid()) {
    report("the trace buffer of `mmiotrace record` cannot be mapped (a different version?); "
           "this program is not traced");
    return;
  }
  trace::share_map_ids(&buffer.control().last_map_id);
  if (const char* strategy = getenv(kStrategyVariable)) {
    if (strcmp(strategy, "single-step") == 0) {
      mmiotrace_set_strategy(MMIOTRACE_STRATEGY_SINGLE_STEP);
    } else if (strcmp(strategy, "emulate") != 0) {
      Diagnostic line;
      line.text(kStrategyVariable).text("=").text(strategy).text(
          " is not a strategy (emulate, single-step); emulating");
      line.emit();
    }
  }
  const char* globs = getenv(kTraceGlobsVariable);
  g_shim = new Shim(buffer, globs ? split_lines(globs) : kDefaultTraceGlobs);
  trace::set_current_session(&g_shim->session);
  mmiotrace_set_notice_handler(&record_notice, nullptr);
  kmmio::install_fault_handlers();
  pthread_atfork([] { g_shim->mutex.lock(); }, [] { g_shim->mutex.unlock(); },
                 [] {
                   trace::forget_thread_state_after_fork();
                   g_shim->mutex.unlock();
                 });
}

// The tracer's own second mapping of a shared file mapping: the same descriptor and offset
// mapped again. Returns it, or an empty range with `why` set.
AddressRange map_alias(size_t length, int prot, int flags, int fd, off_t offset, const char** why) {
  if ((flags & MAP_TYPE) == MAP_PRIVATE) {
    *why = "it is a private mapping, whose pages the program owns alone";
    return {};
  }
  long alias = sys::mmap(0, length, prot & (PROT_READ | PROT_WRITE), MAP_SHARED, fd, offset);
  if (alias < 0 && alias > -4096) {
    *why = "the file cannot be mapped a second time";
    return {};
  }
  madvise(reinterpret_cast<void*>(alias), length, MADV_DONTDUMP);  // the tracer's, not the program's
  return AddressRange::from_size(static_cast<uintptr_t>(alias), page_ceil(length));
}

// Says, on stderr and in the trace, that a mapping is single-stepped for want of an alias.
void report_no_alias(const std::string& path, uintptr_t address, const char* why) {
  Diagnostic line;
  line.text("cannot alias the mapping of ").text(path).text(" at ").hex0x(address).text(" (");
  line.text(why).text("); its accesses are single-stepped, and other threads' accesses to it "
                      "during a step are not seen");
  line.emit();  // leaves the line, newline included, in `line`
  g_shim->recorder.mark(line.view().data(), line.view().size());
}

void trace_new_mapping(uintptr_t address, size_t length, int prot, int flags, int fd,
                       off_t offset, uintptr_t pc) {
  ShimScope scope;
  if (!scope) return;
  std::optional<std::string> path = g_shim->filter.match(fd);
  if (!path) return;
  if (prot == PROT_NONE) return;  // nothing can be accessed, so nothing to trace
  auto file = std::make_shared<TracedFile>();
  const char* why = nullptr;
  file->alias = map_alias(length, prot, flags, fd, offset, &why);
  trace::MappingSpec spec;
  spec.range = AddressRange::from_size(address, length);
  spec.phys = physical_address(*path, static_cast<uint64_t>(offset));
  spec.protection = prot;
  spec.alias = file->alias.empty() ? MMIOTRACE_NO_ALIAS : file->alias.begin;
  std::lock_guard lock(g_shim->mutex);
  int error = 0;
  trace::TracedMapping* traced = g_shim->recorder.start(spec, pc, &error);
  if (traced == nullptr) {
    Diagnostic line;
    line.text("cannot trace the mapping of ").text(*path).text(" at ").hex0x(address).text(": ");
    line.text(strerror(-error));
    line.emit();
    return;
  }
  if (file->alias.empty()) report_no_alias(*path, address, why);
  g_shim->mappings[address] = {traced, prot, std::move(file)};
}

// Before `range` is unmapped or mapped over: traced mappings inside it end (UNMAP); those that
// only lose a part keep their map id and go on being traced in what remains.
void forget_range(AddressRange range, uintptr_t pc) {
  ShimScope scope;
  if (!scope) return;
  std::lock_guard lock(g_shim->mutex);
  auto it = g_shim->mappings.lower_bound(range.begin);
  if (it != g_shim->mappings.begin()) --it;
  while (it != g_shim->mappings.end() && it->first < range.end) {
    ShimMapping mapping = it->second;
    AddressRange old = mapping.traced->range;
    if (!old.overlaps(range)) {
      ++it;
      continue;
    }
    it = g_shim->mappings.erase(it);
    AddressRange pieces[2] = {{old.begin, std::min(old.end, range.begin)},
                              {std::max(old.begin, range.end), old.end}};
    int map_id = mapping.traced->map_id;
    if (pieces[0].empty() && pieces[1].empty()) {
      // Gone entirely: the mapping ends with its last piece (which also unmaps the alias).
      if (mapping.file.use_count() > 1) {
        g_shim->recorder.detach(mapping.traced, kmmio::Disarm::RestoreProtection);
      } else {
        g_shim->recorder.stop(mapping.traced, pc, kmmio::Disarm::RestoreProtection);
      }
      continue;
    }
    uint64_t phys = mapping.traced->phys;
    uintptr_t alias = mapping.traced->probe.alias;
    g_shim->recorder.detach(mapping.traced, kmmio::Disarm::RestoreProtection);
    for (const AddressRange& piece : pieces) {
      if (piece.empty()) continue;
      trace::MappingSpec spec;
      spec.range = piece;
      spec.phys = phys + (piece.begin - old.begin);
      spec.protection = mapping.protection;
      spec.alias = alias == MMIOTRACE_NO_ALIAS ? alias : alias + (piece.begin - old.begin);
      int error = 0;
      trace::TracedMapping* rest = g_shim->recorder.attach(map_id, spec, &error);
      if (rest != nullptr) g_shim->mappings[piece.begin] = {rest, mapping.protection, mapping.file};
    }
  }
}

void* do_mmap(void* address, size_t length, int prot, int flags, int fd, off_t offset,
              uintptr_t pc) {
  if (g_shim != nullptr && (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE)) {
    forget_range(AddressRange::from_size(reinterpret_cast<uintptr_t>(address), page_ceil(length)),
                 pc);
  }
  long result = sys::mmap(reinterpret_cast<uintptr_t>(address), length, prot, flags, fd, offset);
  if (result < 0 && result > -4096) {
    errno = static_cast<int>(-result);
    return MAP_FAILED;
  }
  if (g_shim != nullptr && fd >= 0 && !(flags & MAP_ANONYMOUS)) {
    trace_new_mapping(static_cast<uintptr_t>(result), length, prot, flags, fd, offset, pc);
  }
  return reinterpret_cast<void*>(result);
}

}  // namespace
}  // namespace mmiotrace::preload

using mmiotrace::preload::do_mmap;

extern "C" {

MMIOTRACE_EXPORT void* mmap(void* address, size_t length, int prot, int flags, int fd,
                            off_t offset) {
  return do_mmap(address, length, prot, flags, fd, offset,
                 reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
}

MMIOTRACE_EXPORT void* mmap64(void* address, size_t length, int prot, int flags, int fd,
                              off_t offset) {
  return do_mmap(address, length, prot, flags, fd, offset,
                 reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
}

MMIOTRACE_EXPORT int munmap(void* address, size_t length) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (mmiotrace::preload::g_shim != nullptr && length > 0) {
    mmiotrace::preload::forget_range(
        mmiotrace::AddressRange::from_size(begin, mmiotrace::page_ceil(length)),
        reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
  }
  long result = mmiotrace::sys::munmap(begin, length);
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return 0;
}

}  // extern "C"
