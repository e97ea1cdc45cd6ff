// The in-process writer (see in_process_writer.hpp).
#include "recorder/in_process_writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/syscall.hpp"

namespace mmiotrace::recorder {
namespace {

constexpr uint32_t kRings = 256;
constexpr uint64_t kRingBytes = 1 << 20;

[[noreturn]] void fail(const std::string& what) {
  int error = errno;
  throw trace::TraceWriteError(what + ": " + strerror(error), error);
}

}  // namespace

InProcessWriter::InProcessWriter(const std::string& path, trace::TraceFormat format,
                                 bool compress) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write the trace to '" + path + "'");
  writer_ = trace::TraceWriter::create(fd, path, format, compress);

  int memfd = memfd_create("mmiotrace-buffer", MFD_CLOEXEC);
  size_ = trace::TraceBuffer::bytes_for(kRings, kRingBytes);
  if (memfd < 0 || ftruncate(memfd, static_cast<off_t>(size_)) != 0)
    fail("cannot make the trace buffer");
  memory_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  close(memfd);
  if (memory_ == MAP_FAILED) fail("cannot map the trace buffer");
  madvise(memory_, size_, MADV_DONTDUMP);  // not the program's memory: not in its core dumps
  trace::TraceBuffer buffer = trace::TraceBuffer::format(memory_, kRings, kRingBytes);
  wakeup_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  buffer.control().wakeup_fd.store(wakeup_fd_);
  buffer.control().writer_pid.store(getpid());
  share_map_ids(&buffer.control().last_map_id);
  session_ = std::make_unique<Session>(buffer);
  drainer_ = std::make_unique<trace::TraceDrainer>(buffer);
  thread_ = std::thread([this] { run(); });
}

InProcessWriter::~InProcessWriter() {
  if (thread_.joinable()) {
    stop_.store(true);
    thread_.join();
  }
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
  // The buffer stays mapped: threads of the program may still hold rings in it.
}

void InProcessWriter::run() {
  try {
    while (!stop_.load()) {
      uint64_t wait_ns = drainer_->wait_ns();
      struct pollfd wakeup = {wakeup_fd_, POLLIN, 0};
      struct timespec timeout = sys::timespec_of_ns(wait_ns);
      if (wait_ns != 0 && ppoll(&wakeup, 1, &timeout, nullptr) > 0) {
        uint64_t count;
        (void)!read(wakeup_fd_, &count, sizeof(count));
      }
      drainer_->drain(*writer_);
      drainer_->reclaim(*writer_);
    }
  } catch (const trace::TraceWriteError& error) {
    error_ = error.what();
    // Producers must not wait for a writer that is gone.
    session_->buffer.control().writer_pid.store(0);
  }
}

void InProcessWriter::finish() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (!error_.empty()) throw trace::TraceWriteError(error_);
  drainer_->drain(*writer_);
  drainer_->report_losses(*writer_);
  // From now on nobody drains: producers must neither wait nor wake a descriptor that is gone.
  trace::BufferControl& control = session_->buffer.control();
  control.writer_pid.store(0);
  control.drop_when_full.store(1);
  control.wakeup_fd.store(-1);
  writer_->close();
}

}  // namespace mmiotrace::recorder
