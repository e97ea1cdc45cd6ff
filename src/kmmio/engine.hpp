// The engine's interface for the layers above (trace, preload) and for the C API: probes,
// strategy, and the installation of the fault handlers. Normal context only.
#pragma once

#include <optional>

#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::kmmio {

// mmiotrace_register_probe(), for callers that know the pages' protection (the mmap shim).
// Without it the protection is read from /proc/self/maps.
int register_probe(mmiotrace_probe* probe, std::optional<int> protection = std::nullopt);

enum class Disarm {
  RestoreProtection,  // the memory stays mapped: give the pages their protection back
  LeaveArmed,         // the caller is about to unmap the memory
};
int unregister_probe(mmiotrace_probe* probe, Disarm disarm = Disarm::RestoreProtection);

size_t probe_count();

// Installs mmiotrace's SIGSEGV, SIGBUS and SIGTRAP handlers once; the handlers found in place
// become the program's, to which foreign faults are passed. Idempotent and thread-safe.
void install_fault_handlers();
bool fault_handlers_installed();

// sigaction(2) for SIGSEGV, SIGBUS and SIGTRAP once the handlers are installed: the program's
// disposition is exchanged, and mmiotrace's handler stays in place. Returns 0 or -1 with errno.
int exchange_program_disposition(int signo, const struct sigaction* action,
                                 struct sigaction* old_action);

// libc's sigaction(), past any interposer.
int real_sigaction(int signo, const struct sigaction* action, struct sigaction* old_action);

}  // namespace mmiotrace::kmmio
