// Installing the system-call trap's seccomp filter (see syscall_trap.hpp; declared in
// engine.hpp). Normal context.
#include <link.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "arch/machine.hpp"
#include "core/address_range.hpp"
#include "kmmio/engine.hpp"
#include "kmmio/syscall_trap.hpp"

namespace mmiotrace::kmmio {
namespace {

// The executable part of the loaded libc.so: from the lowest to the highest end of its
// executable segments. Empty when there is none (a static program).
AddressRange libc_code() {
  AddressRange code;
  dl_iterate_phdr(
      [](struct dl_phdr_info* object, size_t, void* data) {
        const char* slash = object->dlpi_name ? std::strrchr(object->dlpi_name, '/') : nullptr;
        const char* name = slash ? slash + 1 : object->dlpi_name;
        if (name == nullptr || std::strncmp(name, "libc.so", 7) != 0) return 0;
        auto& range = *static_cast<AddressRange*>(data);
        for (int i = 0; i < object->dlpi_phnum; ++i) {
          const ElfW(Phdr)& segment = object->dlpi_phdr[i];
          if (segment.p_type != PT_LOAD || !(segment.p_flags & PF_X)) continue;
          uintptr_t begin = object->dlpi_addr + segment.p_vaddr;
          uintptr_t end = begin + segment.p_memsz;
          if (range.empty()) {
            range = {begin, end};
          } else {
            range = {std::min(range.begin, begin), std::max(range.end, end)};
          }
        }
        return 1;
      },
      &code);
  return code;
}

// Whether the kernel lays out programs at random: otherwise a program this one executes has its
// libc where this one's was, and would meet the inherited filter without a handler.
bool layout_is_randomized() {
  int persona = personality(0xffffffff);
  if (persona != -1 && (persona & ADDR_NO_RANDOMIZE)) return false;
  std::ifstream setting("/proc/sys/kernel/randomize_va_space");
  int level = 2;
  if (setting >> level && level == 0) return false;
  return true;
}

constexpr uint32_t kIpLow = offsetof(struct seccomp_data, instruction_pointer);
constexpr uint32_t kIpHigh = kIpLow + 4;

sock_filter statement(uint16_t code, uint32_t k) {
  return sock_filter{code, 0, 0, k};
}
sock_filter jump(uint16_t code, uint32_t k, uint8_t if_true, uint8_t if_false) {
  return sock_filter{code, if_true, if_false, k};
}

// futex() whose instruction pointer lies in `code` traps; everything else is allowed. The
// 64-bit bounds are compared a 32-bit half at a time.
std::vector<sock_filter> trap_filter(AddressRange code) {
  auto low = [](uint64_t value) { return static_cast<uint32_t>(value); };
  auto high = [](uint64_t value) { return static_cast<uint32_t>(value >> 32); };
  // Jump offsets count from the next instruction: kAllow and kTrap are the last two.
  constexpr uint8_t kTrap = 14, kAllow = 15;
  auto to = [](uint8_t target, uint8_t from) { return static_cast<uint8_t>(target - from - 1); };
  return {
      /* 0 */ statement(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      /* 1 */ jump(BPF_JMP | BPF_JEQ | BPF_K, arch::kSeccompArchitecture, 0, to(kAllow, 1)),
      /* 2 */ statement(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      /* 3 */ jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, to(kAllow, 3)),
      // ip >= code.begin, or allow
      /* 4 */ statement(BPF_LD | BPF_W | BPF_ABS, kIpHigh),
      /* 5 */ jump(BPF_JMP | BPF_JGT | BPF_K, high(code.begin), to(9, 5), 0),
      /* 6 */ jump(BPF_JMP | BPF_JEQ | BPF_K, high(code.begin), 0, to(kAllow, 6)),
      /* 7 */ statement(BPF_LD | BPF_W | BPF_ABS, kIpLow),
      /* 8 */ jump(BPF_JMP | BPF_JGE | BPF_K, low(code.begin), 0, to(kAllow, 8)),
      // ip < code.end, or allow
      /* 9 */ statement(BPF_LD | BPF_W | BPF_ABS, kIpHigh),
      /* 10 */ jump(BPF_JMP | BPF_JGT | BPF_K, high(code.end), to(kAllow, 10), 0),
      /* 11 */ jump(BPF_JMP | BPF_JEQ | BPF_K, high(code.end), 0, to(kTrap, 11)),
      /* 12 */ statement(BPF_LD | BPF_W | BPF_ABS, kIpLow),
      /* 13 */ jump(BPF_JMP | BPF_JGE | BPF_K, low(code.end), to(kAllow, 13), 0),
      /* 14 */ statement(BPF_RET | BPF_K, SECCOMP_RET_TRAP | kSyscallTrapData),
      /* 15 */ statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
}

long install_filter(std::vector<sock_filter>& filter) {
  sock_fprog program = {static_cast<unsigned short>(filter.size()), filter.data()};
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program);
}

}  // namespace

int install_syscall_trap() {
  static int status = [] {
    if (!layout_is_randomized()) return -ENOTSUP;
    AddressRange code = libc_code();
    if (code.empty()) return -ENOENT;
    std::vector<sock_filter> filter = trap_filter(code);
    if (install_filter(filter) == 0) return 0;  // (allowed without no_new_privs)
    if (errno != EACCES) return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    return install_filter(filter) == 0 ? 0 : -errno;
  }();
  return status;
}

}  // namespace mmiotrace::kmmio
