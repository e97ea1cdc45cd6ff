// mmiotrace: signal-safe
// The Replay backend (see replay_backend.hpp).
#include "backend/replay_backend.hpp"

#include <signal.h>
#include <sys/syscall.h>

#include <cstring>

#include "arch/guarded_access_status.hpp"
#include "core/access_context.hpp"
#include "core/syscall.hpp"

namespace mmiotrace::backend {
namespace {

class MapHold {
 public:
  explicit MapHold(ReplayMap& map) : map_(map) {
    while (map_.busy.exchange(1, std::memory_order_acquire) != 0)
      sys::sched_yield();
  }
  ~MapHold() { map_.busy.store(0, std::memory_order_release); }
  MapHold(const MapHold&) = delete;
  MapHold& operator=(const MapHold&) = delete;

 private:
  ReplayMap& map_;
};

}  // namespace

void ReplayBackend::diverge(DivergenceReason reason, uint64_t index, bool write, uint64_t offset,
                            size_t width, const uint8_t* bytes) {
  uint32_t none = 0;
  if (script_.diverged.compare_exchange_strong(none, 1)) {
    ReplayDivergence& divergence = script_.divergence;
    divergence.map_id = map_.map_id;
    divergence.reason = reason;
    divergence.index = index;
    divergence.actual.write = write ? 1 : 0;
    divergence.actual.width = static_cast<uint8_t>(width);
    divergence.actual.offset = offset;
    divergence.actual.pc = this_thread_access().pc;
    std::memcpy(divergence.actual.value, bytes, width < 64 ? width : 64);
    divergence.pid = sys::getpid();
    divergence.tid = sys::gettid();
    script_.diverged.store(2, std::memory_order_release);
  }
  // The program must not go on with a value the trace does not hold.
  map_.busy.store(0, std::memory_order_release);
  for (;;)
    sys::syscall6(SYS_kill, sys::getpid(), SIGKILL);
}

bool ReplayBackend::serve(bool write, uint64_t offset, size_t width, uint8_t* bytes) {
  const ReplayAccess* recorded = script_.accesses() + map_.first;
  uint64_t next = map_.next.load(std::memory_order_relaxed);
  for (size_t done = 0; done < width;) {
    if (next >= map_.count)
      diverge(DivergenceReason::PastTheEnd, next, write, offset, width, bytes);
    const ReplayAccess& expected = recorded[next];
    bool same = expected.write == (write ? 1 : 0) && expected.offset == offset + done &&
                expected.width <= width - done &&
                (done == 0 ? expected.width == width || expected.width == 8 : true);
    if (same && write) same = std::memcmp(expected.value, bytes + done, expected.width) == 0;
    if (!same) diverge(DivergenceReason::Mismatch, next, write, offset, width, bytes);
    if (!write) std::memcpy(bytes + done, expected.value, expected.width);
    done += expected.width;
    ++next;
  }
  map_.next.store(next, std::memory_order_relaxed);
  return true;
}

int ReplayBackend::read(uint64_t offset, size_t width, uint8_t* out) {
  MapHold hold(map_);
  serve(/*write=*/false, base_ + offset, width, out);
  return arch::kGuardedOk;
}

int ReplayBackend::write(uint64_t offset, size_t width, const uint8_t* in) {
  MapHold hold(map_);
  serve(/*write=*/true, base_ + offset, width, const_cast<uint8_t*>(in));
  return arch::kGuardedOk;
}

int ReplayBackend::compare_exchange(uint64_t offset, size_t width, uint8_t* expected,
                                    const uint8_t* desired) {
  MapHold hold(map_);
  uint8_t current[16] = {};
  serve(/*write=*/false, base_ + offset, width, current);
  if (std::memcmp(current, expected, width) != 0) {
    std::memcpy(expected, current, width);
    return arch::kGuardedMismatch;
  }
  serve(/*write=*/true, base_ + offset, width, const_cast<uint8_t*>(desired));
  return arch::kGuardedOk;
}

}  // namespace mmiotrace::backend
