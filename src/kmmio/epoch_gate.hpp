// mmiotrace: signal-safe
// A read-side gate for data that signal handlers read while other threads replace it
// (sleepable-RCU style, with two counters). Readers never wait and never lock; a writer
// publishes a new version, then synchronize() waits until no reader can still hold the old one.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/syscall.hpp"

namespace mmiotrace::kmmio {

class EpochGate {
 public:
  using Ticket = uint32_t;

  // Any context, including signal handlers; may nest. Every enter() needs its exit().
  Ticket enter() {
    for (;;) {
      uint32_t epoch = epoch_.load();
      Ticket ticket = epoch & 1;
      readers_[ticket].fetch_add(1);
      if (epoch_.load() == epoch) return ticket;
      readers_[ticket].fetch_sub(1);
    }
  }
  void exit(Ticket ticket) { readers_[ticket].fetch_sub(1); }

  // Writers only, serialized by the caller, never from a signal handler. Returns once every
  // reader that entered before the call has exited.
  void synchronize() {
    uint32_t old_epoch = epoch_.fetch_add(1);
    Ticket old_ticket = old_epoch & 1;
    for (unsigned spins = 0; readers_[old_ticket].load() != 0; ++spins) {
      if (spins < 64) {
        sys::sched_yield();
      } else {
        sys::nanosleep_ns(spins < 1000 ? 10'000 : 1'000'000);
      }
    }
  }

 private:
  std::atomic<uint32_t> epoch_{0};
  std::atomic<int64_t> readers_[2] = {0, 0};
};

}  // namespace mmiotrace::kmmio
