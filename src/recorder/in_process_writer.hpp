// The in-process writer: recording without `mmiotrace record`. It owns a trace buffer (a memfd,
// so that forked children keep writing into it), a thread that drains it into the trace file,
// and the session the API's tracing functions use. Normal context.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "recorder/session.hpp"
#include "trace/trace_drainer.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::recorder {

class InProcessWriter {
 public:
  // Throws trace::TraceWriteError (with the file named) when the file or buffer cannot be made.
  InProcessWriter(const std::string& path, trace::TraceFormat format, bool compress);
  ~InProcessWriter();
  InProcessWriter(const InProcessWriter&) = delete;
  InProcessWriter& operator=(const InProcessWriter&) = delete;

  Session& session() { return *session_; }
  // Drains what is left and closes the file. Throws trace::TraceWriteError.
  void finish();
  // Hands the session over, to outlive the writer: threads of the program may still hold rings
  // and traced mappings in it.
  std::unique_ptr<Session> release_session() { return std::move(session_); }

 private:
  void run();

  void* memory_ = nullptr;
  size_t size_ = 0;
  int wakeup_fd_ = -1;
  std::unique_ptr<Session> session_;
  std::unique_ptr<trace::TraceWriter> writer_;
  std::unique_ptr<trace::TraceDrainer> drainer_;
  std::atomic<bool> stop_{false};
  std::string error_;  // a write error the thread met, for finish()
  std::thread thread_;
};

}  // namespace mmiotrace::recorder
