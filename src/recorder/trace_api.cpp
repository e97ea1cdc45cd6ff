// The C API for recording: the in-process writer, tracing ranges, markers. (Declared in the
// public include/mmiotrace/mmiotrace.h.)
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "mmiotrace/mmiotrace.h"
#include "recorder/in_process_writer.hpp"
#include "recorder/session.hpp"
#include "trace/binary_format.hpp"

using namespace mmiotrace;
using namespace mmiotrace::recorder;

namespace {

std::mutex g_writer_mutex;
std::unique_ptr<recorder::InProcessWriter> g_writer;  // the recording mmiotrace_trace_start() made
// Sessions of finished recordings: never freed, as the program may still hold traced mappings
// and rings in them (kept here, not leaked).
std::vector<std::unique_ptr<recorder::Session>> g_finished_sessions;

}  // namespace

extern "C" {

int mmiotrace_trace_start(const char* path, enum mmiotrace_format format) {
  if (format != MMIOTRACE_FORMAT_TEXT && format != MMIOTRACE_FORMAT_BINARY &&
      format != MMIOTRACE_FORMAT_BINARY_ZSTD) {
    return -EINVAL;
  }
  std::lock_guard lock(g_writer_mutex);
  if (recorder::current_session() != nullptr) return -EBUSY;
  try {
    g_writer = std::make_unique<recorder::InProcessWriter>(
        path,
        format == MMIOTRACE_FORMAT_TEXT ? trace::TraceFormat::Text : trace::TraceFormat::Binary,
        format == MMIOTRACE_FORMAT_BINARY_ZSTD);
  } catch (const trace::TraceWriteError& error) {
    return error.error_number() ? -error.error_number() : -EIO;
  }
  recorder::set_current_session(&g_writer->session());
  mmiotrace_set_notice_handler(&recorder::mark_notice, nullptr);
  return 0;
}

int mmiotrace_trace_stop(void) {
  std::lock_guard lock(g_writer_mutex);
  if (g_writer == nullptr) return -ENOENT;
  int result = 0;
  try {
    g_writer->finish();
  } catch (const trace::TraceWriteError& error) {
    result = error.error_number() ? -error.error_number() : -EIO;
  }
  recorder::set_current_session(nullptr);
  mmiotrace_set_notice_handler(nullptr, nullptr);
  g_finished_sessions.push_back(g_writer->release_session());
  g_writer.reset();
  return result;
}

struct mmiotrace_mapping* mmiotrace_trace_range(const volatile void* address, size_t length,
                                                uint64_t phys) {
  recorder::Session* session = recorder::current_session();
  if (session == nullptr) {
    errno = ENOENT;
    return nullptr;
  }
  recorder::MappingSpec spec;
  spec.range = AddressRange::from_size(reinterpret_cast<uintptr_t>(address), length);
  spec.phys = phys;
  int error = 0;
  recorder::TracedMapping* mapping = session->recorder.start(
      spec, reinterpret_cast<uintptr_t>(__builtin_return_address(0)), &error);
  if (mapping == nullptr) errno = -error;
  return reinterpret_cast<struct mmiotrace_mapping*>(mapping);
}

int mmiotrace_untrace_range(struct mmiotrace_mapping* mapping) {
  if (mapping == nullptr) return -EINVAL;
  auto* traced = reinterpret_cast<TracedMapping*>(mapping);
  traced->recorder->stop(traced, reinterpret_cast<uintptr_t>(__builtin_return_address(0)),
                         kmmio::Disarm::RestoreProtection);
  return 0;
}

int mmiotrace_mark(const char* text) {
  recorder::Session* session = recorder::current_session();
  if (session == nullptr) return -ENOENT;
  const size_t length = strlen(text);
  if (length > trace::kMaxTextLength) return -E2BIG;  // never cut
  session->recorder.mark(text, length);
  return 0;
}

}  // extern "C"
