// mmiotrace: signal-safe
// The choice of an emulated access's clock, as the library loads (see counter_clock.hpp).
// AArch64 only.
#include "arm64/counter_clock.hpp"

#include <sys/auxv.h>

namespace mmiotrace::arm64 {
namespace detail {

constinit CounterScale g_access_clock_scale;
constinit thread_local CounterAnchor t_access_clock_anchor
    __attribute__((tls_model("initial-exec")));

}  // namespace detail
namespace {

// With a vDSO, clock_gettime reads the counter itself, NTP's corrections included: keep it.
// Linux lets user space read CNTVCT_EL0 (or traps and emulates the read, on cores with counter
// errata), and qemu-user gives it.
__attribute__((constructor)) void choose_access_clock() {
  if (getauxval(AT_SYSINFO_EHDR) != 0) return;
  uint64_t ticks_per_second;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(ticks_per_second));
  detail::g_access_clock_scale = counter_scale(ticks_per_second);
}

}  // namespace
}  // namespace mmiotrace::arm64
