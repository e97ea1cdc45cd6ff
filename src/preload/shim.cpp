// The LD_PRELOAD shim that `mmiotrace record` injects into the traced program: it reads its
// configuration from the environment, and keeps the table of traced mappings that the
// interposers (memory_interpose.cpp, fd_interpose.cpp, syscall_interpose.cpp) maintain and
// consult. Runs in the traced program, in normal context (the probe handlers it installs are
// in recorder/recorder_handlers.cpp).
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "arch/code_cache.hpp"
#include "arch/machine.hpp"
#include "core/access_context.hpp"
#include "core/diagnostics.hpp"
#include "core/syscall.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.h"
#include "preload/environment.hpp"
#include "preload/physical_address.hpp"
#include "preload/shim.hpp"
#include "preload/trace_filter.hpp"
#include "recorder/recorder.hpp"
#include "recorder/ring_sink.hpp"
#include "recorder/session.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::preload {
namespace {

// Set once by the constructor, never destroyed: the program may map and unmap during exit.
Shim* g_shim = nullptr;

// Set while this thread runs shim code that may itself call mmap (through libc).
constinit thread_local bool t_inside_shim __attribute__((tls_model("initial-exec"))) = false;

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
  long memory =
      sys::mmap(0, static_cast<size_t>(status.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory < 0 && memory > -4096) return {};
  // Not part of the program: keep it out of its core dumps.
  madvise(reinterpret_cast<void*>(memory), static_cast<size_t>(status.st_size), MADV_DONTDUMP);
  trace::TraceBuffer buffer = trace::TraceBuffer::attach(reinterpret_cast<void*>(memory),
                                                         static_cast<size_t>(status.st_size));
  if (!buffer.valid())
    sys::munmap(static_cast<uintptr_t>(memory), static_cast<size_t>(status.st_size));
  return buffer;
}

// MMIOTRACE_STATS=1: how this process's engine handled its traps, one line on stderr at exit.
void report_engine_stats() {
  kmmio::flush_logged_accesses();
  mmiotrace_stats stats;
  mmiotrace_get_stats(&stats);
  const arch::SiteCounts sites = arch::site_counts();
  Diagnostic line;
  line.text("pid ")
      .decimal(static_cast<uint64_t>(getpid()))
      .text(": ")
      .decimal(stats.faults_handled)
      .text(" traps: ")
      .decimal(stats.emulated)
      .text(" emulated, ")
      .decimal(stats.single_stepped)
      .text(arch::kHasSingleStep ? " single-stepped, " : " run out of line, ")
      .decimal(stats.diverted)
      .text(" diverted into the code cache, which made ")
      .decimal(stats.diverted_accesses)
      .text(" accesses; ")
      .decimal(stats.entries_patched)
      .text(" entries patched; ")
      .decimal(sites.translated)
      .text(" sites translated, ")
      .decimal(sites.refused)
      .text(" refused, in ")
      .decimal(arch::generated_code_bytes() >> 20)
      .text(" MiB of code cache; ")
      .decimal(stats.faults_passed_on)
      .text(" signals passed on to the program");
  line.emit();
}

__attribute__((constructor)) void start_shim() {
  int buffer_fd = inherited_fd(kBufferFdVariable);
  if (buffer_fd < 0) return;
  trace::TraceBuffer buffer = map_trace_buffer(buffer_fd);
  if (!buffer.valid()) {
    report(
        "the trace buffer of `mmiotrace record` cannot be mapped (a different version?); "
        "this program is not traced");
    return;
  }
  recorder::share_map_ids(&buffer.control().last_map_id);
  if (const char* strategy = getenv(kStrategyVariable)) {
    if (strcmp(strategy, "single-step") == 0) {
      mmiotrace_set_strategy(MMIOTRACE_STRATEGY_SINGLE_STEP);
    } else if (strcmp(strategy, "emulate") != 0) {
      Diagnostic line;
      line.text(kStrategyVariable)
          .text("=")
          .text(strategy)
          .text(" is not a strategy (emulate, single-step); emulating");
      line.emit();
    }
  }
  if (const char* divert = getenv(kDivertVariable); divert != nullptr && strcmp(divert, "1") == 0) {
    kmmio::set_divert(true);
    kmmio::relay_program_handlers();
    atexit([] { kmmio::flush_logged_accesses(); });  // the main thread's last accesses
  }
  if (const char* patch = getenv(kPatchVariable); patch != nullptr && strcmp(patch, "0") == 0) {
    mmiotrace_set_patch(0);
  }
  if (const char* policy = getenv(kCodeCachePolicyVariable)) {
    arch::CodeCachePolicy chosen;
    if (arch::code_cache_policy_named(policy, &chosen)) {
      arch::set_code_cache_policy(chosen);
    } else {
      Diagnostic line;
      line.text(kCodeCachePolicyVariable)
          .text("=")
          .text(policy)
          .text(" is not a code-cache policy (")
          .text(kCodeCachePolicyNames)
          .text("); adaptive");
      line.emit();
    }
  }
  if (const char* stats = getenv(kStatsVariable); stats != nullptr && strcmp(stats, "1") == 0) {
    atexit(report_engine_stats);
  }
  const char* globs = getenv(kTraceGlobsVariable);
  DeviceFiles devices = DeviceFiles::from_environment();
  auto pci = std::make_unique<PciFiles>();
  pci->attach_from_environment(devices);
  auto vfio = std::make_unique<VfioFiles>();
  vfio->attach(*pci, devices);
  auto* shim =
      new Shim(buffer, globs ? split_lines(globs) : default_trace_globs(), std::move(devices));
  shim->pci = std::move(pci);
  shim->vfio = std::move(vfio);
  shim->own_fds[0] = buffer_fd;
  shim->own_fds[1] = buffer.control().wakeup_fd.load();
  if (const char* marker = getenv(kMarkerFdVariable)) shim->own_fds[2] = atoi(marker);
  if (const char* replay = getenv(kReplayFdVariable)) shim->own_fds[3] = atoi(replay);
  g_shim = shim;
  recorder::set_current_session(&g_shim->session);
  // The engine's notices go into the trace as markers, through the session made current above,
  // which stays so (mmiotrace_trace_start() refuses to replace it).
  mmiotrace_set_notice_handler(&recorder::mark_notice, nullptr);
  kmmio::install_fault_handlers();
  // After the handlers: the filter's first trap needs its SIGSYS handler. Without the trap
  // (layout randomization off, an old kernel), glibc's own futex calls on traced memory fail
  // as before (docs/limitations.md).
  kmmio::install_syscall_trap();
  pthread_atfork(
      [] {
        kmmio::flush_logged_accesses();  // not left for the child to copy
        g_shim->mutex.lock();
      },
      [] { g_shim->mutex.unlock(); },
      [] {
        recorder::forget_thread_state_after_fork();
        g_shim->devices.release_after_fork();
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
  madvise(reinterpret_cast<void*>(alias), length,
          MADV_DONTDUMP);  // the tracer's, not the program's
  return AddressRange::from_size(static_cast<uintptr_t>(alias), page_ceil(length));
}

// Says, on stderr and in the trace, that a mapping is single-stepped for want of an alias.
void report_no_alias(const std::string& path, uintptr_t address, const char* why) {
  Diagnostic line;
  line.text("cannot alias the mapping of ").text(path).text(" at ").hex0x(address).text(" (");
  line.text(why).text(
      "); its accesses are single-stepped, and other threads' accesses to it "
      "during a step are not seen");
  line.emit();  // leaves the line, newline included, in `line`
  g_shim->recorder.mark(line.view().data(), line.view().size());
}

}  // namespace

TracedFile::~TracedFile() {
  if (!alias.empty()) sys::munmap(alias.begin, alias.size());
}

Shim* active_shim() {
  return g_shim;
}

ShimScope::ShimScope() : entered_(!t_inside_shim && g_shim != nullptr) {
  if (entered_) t_inside_shim = true;
}

ShimScope::~ShimScope() {
  if (entered_) t_inside_shim = false;
}

void trace_new_mapping(uintptr_t address, size_t length, int prot, int flags, int fd, off_t offset,
                       uintptr_t pc) {
  ShimScope scope;
  if (!scope) return;
  std::optional<std::string> path = g_shim->filter.match(fd);
  if (!path) return;
  if (prot == PROT_NONE) return;  // nothing can be accessed, so nothing to trace
  auto file = std::make_shared<TracedFile>();
  const char* why = nullptr;
  file->alias = map_alias(length, prot, flags, fd, offset, &why);
  recorder::MappingSpec spec;
  spec.range = AddressRange::from_size(address, length);
  spec.phys = physical_address(*path, static_cast<uint64_t>(offset));
  spec.protection = prot;
  spec.alias = file->alias.empty() ? MMIOTRACE_NO_ALIAS : file->alias.begin;
  std::lock_guard lock(g_shim->mutex);
  int error = 0;
  g_shim->modules.mark_new_modules(g_shim->recorder);
  recorder::TracedMapping* traced = g_shim->recorder.start(spec, pc, &error);
  if (traced == nullptr) {
    Diagnostic line;
    line.text("cannot trace the mapping of ").text(*path).text(" at ").hex0x(address).text(": ");
    line.text(strerror(-error));
    line.emit();
    return;
  }
  if (file->alias.empty()) report_no_alias(*path, address, why);
  g_shim->mappings[address] = {traced, std::move(file), nullptr, 0};
}

void* map_device(const DeviceFile& device, uintptr_t address, size_t length, int prot, int flags,
                 off_t offset, uintptr_t pc) {
  size_t pages = page_ceil(length);
  if (length == 0 || offset < 0 || static_cast<uint64_t>(offset) % kPageSize != 0) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  ShimScope scope;
  if (!g_shim->devices.ready(device)) {  // a descriptor inherited from a program run before
    errno = ENXIO;
    return MAP_FAILED;
  }
  std::unique_lock lock(g_shim->mutex);
  auto file = std::make_shared<TracedFile>();
  file->device = g_shim->devices.open_window(device);
  if (device.script != nullptr && file->device.replay_map == nullptr) {
    errno = ENXIO;  // the recorded program made no such mapping
    return MAP_FAILED;
  }
  // A model's mapping starts at its register offset; a replay's at its recorded mapping's start.
  uint64_t window_offset = file->device.replay_map ? 0 : static_cast<uint64_t>(offset);
  uint64_t window_size = file->device.replay_map ? file->device.replay_map->length : device.size;
  if (window_offset + pages > page_ceil(window_size)) {
    errno = ENXIO;  // past the device's register space
    return MAP_FAILED;
  }
  lock.unlock();
  if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE)) {
    forget_range(AddressRange::from_size(address, pages), pc);
  }
  // The placeholder: shared memory that is never read or written, only armed.
  long placeholder =
      sys::mmap(address, pages, prot,
                (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) | MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (placeholder < 0 && placeholder > -4096) {
    errno = static_cast<int>(-placeholder);
    return MAP_FAILED;
  }
  auto begin = static_cast<uintptr_t>(placeholder);
  ShimMapping mapping = {nullptr, file, g_shim->devices.make_backend(file->device, window_offset),
                         window_offset};
  recorder::MappingSpec spec;
  spec.range = AddressRange::from_size(begin, length);
  spec.phys = g_shim->devices.physical_address(file->device, window_offset);
  spec.protection = prot;
  spec.backend = mapping.backend.get();
  lock.lock();
  int error = 0;
  g_shim->modules.mark_new_modules(g_shim->recorder);
  mapping.traced = g_shim->recorder.start(spec, pc, &error);
  if (mapping.traced == nullptr) {
    sys::munmap(begin, pages);
    errno = -error;
    return MAP_FAILED;
  }
  // Which device the mapping is, for readers of the trace (`mmiotrace dump --annotate`).
  std::string line = trace::format_device_marker(
      {device.model + (device.arguments.empty() ? "" : ":" + device.arguments) + "@" + device.path,
       mapping.traced->map_id});
  g_shim->recorder.mark(line.data(), line.size());
  g_shim->mappings[begin] = std::move(mapping);
  return reinterpret_cast<void*>(begin);
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
      recorder::MappingSpec spec;
      spec.range = piece;
      spec.phys = phys + (piece.begin - old.begin);
      spec.alias = alias == MMIOTRACE_NO_ALIAS ? alias : alias + (piece.begin - old.begin);
      ShimMapping rest = {nullptr, mapping.file, nullptr, 0};
      if (mapping.file->device.file != nullptr) {
        rest.device_offset = mapping.device_offset + (piece.begin - old.begin);
        rest.backend = g_shim->devices.make_backend(mapping.file->device, rest.device_offset);
        spec.backend = rest.backend.get();
      }
      int error = 0;
      rest.traced = g_shim->recorder.attach(map_id, spec, &error);
      if (rest.traced != nullptr) g_shim->mappings[piece.begin] = rest;
    }
  }
}

namespace {

// Blocks every signal for its lifetime.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t all;
    sigfillset(&all);
    sys::rt_sigprocmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalBlock() { sys::rt_sigprocmask(SIG_SETMASK, &saved_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t saved_;
};

// The traced mapping holding `address`, or null. Caller holds the shim's lock.
const ShimMapping* mapping_at(uintptr_t address) {
  auto it = g_shim->mappings.upper_bound(address);
  if (it == g_shim->mappings.begin()) return nullptr;
  --it;
  return it->second.traced->range.contains(address) ? &it->second : nullptr;
}

// Copies `size` bytes between `program` (memory of the program, traced or not) and `tracer`
// (the shim's own buffer), in the widest aligned pieces of up to 8 bytes, surviving faults.
// Traced bytes go through the alias and are recorded. Caller holds the shim's lock.
bool copy_piecewise(uintptr_t program, size_t size, uint8_t* tracer, bool to_program,
                    uintptr_t pc) {
  for (size_t done = 0; done < size;) {
    uintptr_t at = program + done;
    const ShimMapping* mapping = mapping_at(at);
    uintptr_t piece_end = program + size;
    uintptr_t reach = at;  // where the bytes are reached
    if (mapping != nullptr) {
      const recorder::TracedMapping& traced = *mapping->traced;
      piece_end = std::min(piece_end, traced.range.end);
      if (mapping->backend == nullptr &&
          (traced.probe.alias == MMIOTRACE_NO_ALIAS || traced.probe.alias == 0)) {
        return false;
      }
      reach = traced.probe.alias + (at - traced.range.begin);
    } else {
      auto next = g_shim->mappings.upper_bound(at);
      if (next != g_shim->mappings.end()) piece_end = std::min(piece_end, next->first);
    }
    size_t piece = piece_end - at;
    for (size_t offset = 0; offset < piece;) {
      size_t width = 8;
      while (width > 1 && ((reach + offset) % width != 0 || piece - offset < width))
        width /= 2;
      int status;
      if (mapping != nullptr && mapping->backend != nullptr) {
        // A device answers, as it would in a handler: with signals blocked, since a handler
        // interrupting the call could wait for the device forever.
        uint64_t device_at = at - mapping->traced->range.begin + offset;
        SignalBlock block;
        status = to_program ? mapping->backend->write(device_at, width, tracer + done + offset)
                            : mapping->backend->read(device_at, width, tracer + done + offset);
      } else {
        status = to_program ? arch::guarded_store(reach + offset, tracer + done + offset, width)
                            : arch::guarded_load(reach + offset, tracer + done + offset, width);
      }
      if (status != arch::kGuardedOk) return false;
      offset += width;
    }
    if (mapping != nullptr) {
      g_shim->recorder.record_block(*mapping->traced, at, tracer + done, piece, to_program, pc);
    }
    done += piece;
  }
  return true;
}

bool copy_for_syscall(uintptr_t address, size_t size, uint8_t* tracer, bool to_program,
                      uintptr_t pc) {
  if (size == 0) return true;
  if (address + size < address) {
    errno = EFAULT;
    return false;
  }
  std::lock_guard lock(g_shim->mutex);
  this_thread_access().pc = pc;  // for a device's backend, which may report the access
  if (!copy_piecewise(address, size, tracer, to_program, pc)) {
    errno = EFAULT;
    return false;
  }
  return true;
}

}  // namespace

bool copy_from_program(uintptr_t address, size_t size, uint8_t* to, uintptr_t pc) {
  return copy_for_syscall(address, size, to, false, pc);
}

bool copy_to_program(uintptr_t address, size_t size, const uint8_t* from, uintptr_t pc) {
  return copy_for_syscall(address, size, const_cast<uint8_t*>(from), true, pc);
}

uintptr_t reachable_address(uintptr_t address) {
  std::lock_guard lock(g_shim->mutex);
  const ShimMapping* mapping = mapping_at(address);
  if (mapping == nullptr) return address;
  uintptr_t alias = mapping->traced->probe.alias;
  if (alias == 0 || alias == MMIOTRACE_NO_ALIAS) return 0;
  return alias + (address - mapping->traced->range.begin);
}

void* remap_traced(uintptr_t old_address, size_t old_size, size_t new_size, int flags,
                   uintptr_t new_address, uintptr_t pc) {
  size_t old_length = page_ceil(old_size);
  size_t new_length = page_ceil(new_size);
  // What the moved part was: its physical address, and a new alias of its pages, made before
  // the old one may go with the old mapping.
  bool traced = false;
  uint64_t phys = 0;
  uint64_t device_offset = 0;
  auto file = std::make_shared<TracedFile>();
  if (old_size != 0) {
    ShimScope scope;
    std::lock_guard lock(g_shim->mutex);
    if (const ShimMapping* mapping = mapping_at(old_address)) {
      traced = true;
      const recorder::TracedMapping& old = *mapping->traced;
      phys = old.phys + (old_address - old.range.begin);
      file->device = mapping->file->device;
      device_offset = mapping->device_offset + (old_address - old.range.begin);
      if (file->device.file == nullptr && old.probe.alias != MMIOTRACE_NO_ALIAS) {
        // A second mapping of the same pages, as long as the new one (shared mappings only).
        long alias = sys::syscall6(
            SYS_mremap, static_cast<long>(old.probe.alias + (old_address - old.range.begin)), 0,
            static_cast<long>(new_length), MREMAP_MAYMOVE);
        if (alias >= 0 || alias <= -4096) {
          madvise(reinterpret_cast<void*>(alias), new_length, MADV_DONTDUMP);
          file->alias = AddressRange::from_size(static_cast<uintptr_t>(alias), new_length);
        }
      }
    }
  }
  if (traced) forget_range(AddressRange::from_size(old_address, old_length), pc);
  if ((flags & MREMAP_FIXED) && new_address != old_address) {
    forget_range(AddressRange::from_size(new_address, new_length), pc);
  }
  long result =
      sys::syscall6(SYS_mremap, static_cast<long>(old_address), static_cast<long>(old_size),
                    static_cast<long>(new_size), flags, static_cast<long>(new_address));
  bool failed = result < 0 && result > -4096;
  if (traced) {
    // Traced again where it now is (or, if the call failed, where it still is).
    uintptr_t now = failed ? old_address : static_cast<uintptr_t>(result);
    recorder::MappingSpec spec;
    spec.range = AddressRange::from_size(now, failed ? old_length : new_length);
    spec.phys = phys;
    spec.alias = file->alias.empty() ? MMIOTRACE_NO_ALIAS : file->alias.begin;
    // (the pages' protections, their own again, are read from the kernel)
    std::shared_ptr<backend::Backend> device_backend;
    if (file->device.file != nullptr) {
      device_backend = g_shim->devices.make_backend(file->device, device_offset);
      spec.backend = device_backend.get();
    }
    ShimScope scope;
    std::lock_guard lock(g_shim->mutex);
    int error = 0;
    g_shim->modules.mark_new_modules(g_shim->recorder);
    recorder::TracedMapping* mapping = g_shim->recorder.start(spec, pc, &error);
    if (mapping != nullptr) {
      g_shim->mappings[now] = {mapping, std::move(file), std::move(device_backend), device_offset};
    } else {
      Diagnostic line;
      line.text("cannot trace the remapped mapping at ").hex0x(now).text(": ");
      line.text(strerror(-error));
      line.emit();
    }
  }
  if (failed) {
    errno = static_cast<int>(-result);
    return MAP_FAILED;
  }
  return reinterpret_cast<void*>(result);
}

int protect_traced(AddressRange pages, int protection) {
  std::vector<AddressRange> unarmed;
  {
    std::lock_guard lock(g_shim->mutex);
    for (auto& [begin, mapping] : g_shim->mappings) {
      const recorder::TracedMapping& traced = *mapping.traced;
      if (!traced.range.overlaps(pages)) continue;
      // The kernel's verdict on the new protection, asked of the alias (the same open file).
      uintptr_t alias = traced.probe.alias;
      if ((protection & PROT_WRITE) && alias != 0 && alias != MMIOTRACE_NO_ALIAS) {
        AddressRange part = {std::max(traced.range.begin, pages.begin),
                             std::min(traced.range.end, pages.end)};
        long status = sys::mprotect(alias + (part.begin - traced.range.begin), part.size(),
                                    PROT_READ | PROT_WRITE);
        if (status < 0) {
          errno = static_cast<int>(-status);
          return -1;
        }
      }
    }
    kmmio::set_page_protection(pages, protection, &unarmed);
  }
  int result = 0;
  for (const AddressRange& piece : unarmed) {
    long status = sys::mprotect(piece.begin, piece.size(), protection);
    if (status < 0 && result == 0) {
      errno = static_cast<int>(-status);
      result = -1;
    }
  }
  return result;
}

}  // namespace mmiotrace::preload
