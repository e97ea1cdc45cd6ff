/* probe_api: using libmmiotrace from C, without `mmiotrace record`. The program puts a probe on
 * a buffer that stands in for a device's registers, counts the reads and writes its handler is
 * told about, and prints the last value written. Build: cc -I include probe_api.c -lmmiotrace */
#include <mmiotrace/mmiotrace.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct counts {
  unsigned reads;
  unsigned writes;
  uint64_t last_written;
};

/* Runs inside a signal handler: only async-signal-safe work here. */
static void on_access(struct mmiotrace_probe* probe, const struct mmiotrace_access* access,
                      void* ucontext) {
  (void)ucontext;
  struct counts* counts = probe->user_data;
  if (access->kind == MMIOTRACE_ACCESS_READ) ++counts->reads;
  if (access->kind == MMIOTRACE_ACCESS_WRITE) {
    ++counts->writes;
    if (access->value_known) counts->last_written = access->value.u64;
  }
}

int main(void) {
  volatile uint32_t* regs =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (regs == MAP_FAILED) return 1;
  struct counts counts = {0, 0, 0};
  struct mmiotrace_probe probe = {(uintptr_t)regs, 4096, NULL, on_access, &counts, 0};
  int error = mmiotrace_register_probe(&probe);
  if (error != 0) {
    fprintf(stderr, "probe_api: cannot register the probe: %s\n", strerror(-error));
    return 1;
  }
  for (uint32_t i = 0; i < 10; ++i)
    regs[i] = i * 3;
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 10; ++i)
    sum += regs[i];
  mmiotrace_unregister_probe(&probe);
  regs[0] = 99; /* no longer traced */

  printf("sum %u; %u reads, %u writes, last value written %llu\n", sum, counts.reads, counts.writes,
         (unsigned long long)counts.last_written);
  return 0;
}
