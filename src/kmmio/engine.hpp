// mmiotrace: signal-safe
// The engine's interface for the layers above (trace, preload) and for the C API: probes,
// strategy, and the installation of the fault handlers. Normal context only: it is marked
// signal-safe because marked files include it for its types (it holds no code).
#pragma once

#include <optional>
#include <vector>

#include "core/address_range.hpp"

#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::backend {
class Backend;
}

namespace mmiotrace::kmmio {

// mmiotrace_register_probe(), for callers that know the pages' protection (the mmap shim).
// Without it the protection is read from /proc/self/maps.
int register_probe(mmiotrace_probe* probe, std::optional<int> protection = std::nullopt);

// A probe whose accesses all go to `backend` (a device model, a replayed trace) instead of
// memory: the pages under it are placeholders, never read or written. The backend must outlive
// the probe's registration. Its accesses are always emulated, whatever the strategy.
int register_probe_with_backend(mmiotrace_probe* probe, backend::Backend* backend,
                                std::optional<int> protection = std::nullopt);

enum class Disarm {
  RestoreProtection,  // the memory stays mapped: give the pages their protection back
  LeaveArmed,         // the caller is about to unmap the memory
};
int unregister_probe(mmiotrace_probe* probe, Disarm disarm = Disarm::RestoreProtection);

size_t probe_count();

// The program's mprotect() of `pages` (page-aligned): armed pages keep PROT_NONE and take
// `protection` as their own (accesses are checked against it); the pages that are not armed are
// appended to `unarmed`, for the caller to mprotect.
int set_page_protection(AddressRange pages, int protection, std::vector<AddressRange>* unarmed);

// The armed pages among `pages`, with their aliases (0 when a page has none).
struct PageAlias {
  uintptr_t page;
  uintptr_t alias;
};
std::vector<PageAlias> armed_pages(AddressRange pages);

// Whether any byte of `range` lies on an armed page. Lock-free; any context but handlers.
bool touches_armed_page(AddressRange range);

// Installs mmiotrace's SIGSEGV, SIGBUS, SIGTRAP and SIGSYS handlers once; the handlers found in
// place become the program's, to which foreign faults are passed. Idempotent and thread-safe.
void install_fault_handlers();
bool fault_handlers_installed();

// Installs the seccomp filter that traps futex() made from libc's code, once per process (it
// stays after fork() and execve(), in every thread). Sets no_new_privs where the process may
// not install a filter without it. Returns 0, or a negative errno: -ENOTSUP where address
// layout randomization is off (a program this one executes could then meet the filter at the
// same addresses without mmiotrace's handler), or the kernel's error. Normal context, from the
// shim's constructor.
int install_syscall_trap();

// sigaction(2) for SIGSEGV, SIGBUS, SIGTRAP and SIGSYS once the handlers are installed: the
// program's disposition is exchanged, and mmiotrace's handler stays in place. Returns 0 or -1 with
// errno.
int exchange_program_disposition(int signo, const struct sigaction* action,
                                 struct sigaction* old_action);

// The program's sigaction() for a signal that is not a fault signal: installed as it is, or,
// with `relay` (the code cache is on), through the relay of signal_deferral.hpp, the program's
// disposition kept aside; `old_action` is the program's previous one either way. Normal context.
int install_program_handler(int signo, const struct sigaction* action, struct sigaction* old_action,
                            bool relay);
// Puts the relay in front of every handler the program has installed (diversion being enabled).
void relay_program_handlers();

// libc's sigaction(), past any interposer.
int real_sigaction(int signo, const struct sigaction* action, struct sigaction* old_action);

}  // namespace mmiotrace::kmmio
