// Shared helpers for the engine's unit tests (see test_support.hpp).
#include "test_support.hpp"

#include "core/proc_maps.hpp"

namespace mmiotrace::testing {

namespace {
constinit AccessLog g_access_log;
}  // namespace

AccessLog& access_log() {
  return g_access_log;
}

void log_pre(mmiotrace_probe* probe, const mmiotrace_access* access, void*) {
  access_log().add(0, probe, access);
}

void log_post(mmiotrace_probe* probe, const mmiotrace_access* access, void*) {
  access_log().add(1, probe, access);
}

int page_protection(uintptr_t address) {
  for (const MapsEntry& entry : read_own_maps()) {
    if (entry.range.contains(address)) return entry.protection;
  }
  return -1;
}

}  // namespace mmiotrace::testing
