// mmiotrace: signal-safe
// The recording this process takes part in: the shim's, under `mmiotrace record`, or the
// in-process writer's, when a program uses the library directly. Holds the sink and recorder
// the API's tracing and marker functions use.
#pragma once

#include <cstddef>

#include "recorder/recorder.hpp"
#include "recorder/ring_sink.hpp"
#include "trace/trace_buffer.hpp"

namespace mmiotrace::recorder {

struct Session {
  explicit Session(trace::TraceBuffer trace_buffer)
      : buffer(trace_buffer), sink(trace_buffer), recorder(sink) {}
  trace::TraceBuffer buffer;
  RingSink sink;
  Recorder recorder;
};

// Any context (read); set from normal context, never freed while set.
Session* current_session();
void set_current_session(Session* session);

// The engine's notice handler (mmiotrace_set_notice_handler) while a session records: each
// notice becomes a MARK event of the current session, if there is one. Any context, signal
// handlers included.
void mark_notice(const char* text, size_t length, void* user_data);

}  // namespace mmiotrace::recorder
